/**
 * What we accept as a picture: a baseline or progressive JPEG, start of image to end of image,
 * with a frame header giving its size. Whatever a camera (or anyone in between) sends is checked
 * with this before it is stored or served as image/jpeg. Pure: bytes in, size or null out.
 */

/** Largest picture accepted from a camera (or a gateway). */
export const MAX_JPEG_BYTES = 8 * 1024 * 1024;

/** Frame-header markers (SOF0–SOF15) except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
/** Markers without a length field: TEM and RST0–7. */
const standalone = (m: number) => m === 0x01 || (m >= 0xd0 && m <= 0xd7);

/** The picture's size when `buf` is a whole JPEG (SOI … a frame header … EOI), else null. */
export function jpegInfo(buf: Buffer): { width: number; height: number } | null {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  // Some cameras pad after EOI; a few bytes of it are tolerated, a truncated picture is not.
  let end = buf.length;
  while (end > 2 && end > buf.length - 16 && buf[end - 1] !== 0xd9) end--;
  if (buf[end - 1] !== 0xd9 || buf[end - 2] !== 0xff) return null;
  let i = 2;
  while (i + 4 <= end) {
    if (buf[i] !== 0xff) return null;
    const marker = buf[i + 1]!;
    if (marker === 0xff) { i++; continue; } // fill byte
    if (standalone(marker)) { i += 2; continue; }
    // Start of scan or end of image before any frame header: not a picture we can size.
    if (marker === 0xda || marker === 0xd9) return null;
    const length = buf.readUInt16BE(i + 2);
    if (length < 2 || i + 2 + length > end) return null;
    if (isSof(marker)) {
      if (length < 7) return null;
      const height = buf.readUInt16BE(i + 5);
      const width = buf.readUInt16BE(i + 7);
      return width > 0 && height > 0 ? { width, height } : null;
    }
    i += 2 + length;
  }
  return null;
}
