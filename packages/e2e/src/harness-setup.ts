import { ensureChromium } from "./chromium";

/** The harness's own tests need the browser (installed if missing, else the run fails saying how), not the mesh. */
export default function setup() {
  ensureChromium();
}
