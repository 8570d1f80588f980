// What the browser does for the user outside the page: copy text (a SHA-256, a key fingerprint), download a file.
// The Clipboard API exists only in a secure context, and police intranets often serve the console over
// plain http: there the old execCommand path through a hidden textarea is what works.
export async function copyText(text: string): Promise<boolean> {
  if (window.isSecureContext && navigator.clipboard) {
    try {
      await navigator.clipboard.writeText(text)
      return true
    } catch {
      // permission refused: try the old way
    }
  }
  const area = document.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.appendChild(area)
  area.select()
  try {
    return document.execCommand('copy')
  } catch {
    return false
  } finally {
    area.remove()
  }
}

/** Let the browser download a URL (the server answers it with Content-Disposition: attachment). */
export function downloadUrl(url: string, filename = ''): void {
  const a = document.createElement('a')
  a.href = url
  a.rel = 'noopener'
  if (filename) a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
}
