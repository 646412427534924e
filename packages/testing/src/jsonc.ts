// wrangler.jsonc as a test reads it (the config's own text, imported raw, in workerd): comments dropped, then JSON.
// Enough for our configs (line comments, no trailing commas); the tests that read them fail loudly on anything else.

/** JSONC → JSON: drop `//` comments outside strings, then parse. */
export function parseJsonc(text: string): unknown {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else out += c;
  }
  return JSON.parse(out);
}
