// PLACEHOLDER: replaced by the export feature (being built now).
export async function runVerifyCommand(_args: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }): Promise<number> {
  io.err.write('skynet verify: not available yet\n');
  return 2;
}
