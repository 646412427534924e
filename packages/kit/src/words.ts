// Words as two comparers of free text see them (governance's check of a pair's stated sources, the simulated
// judge's source key): case and everything but the letters a–z dropped, so "U.S. Bureau" and "us bureau" agree.

/** The lower-case runs of letters a–z in `text`, in order; digits, punctuation and accented letters split them. */
export function letterWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((w) => w !== "");
}
