import path from "node:path";
import { type Browser, type BrowserContext, chromium, errors, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./chromium";
import type { MeshInfo } from "./mesh";

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * Local `wrangler dev` (4.86) forwards each request from its proxy to the workers over a kept-alive connection; a
 * request written onto one the other side is closing at that moment fails, and the proxy answers a POST with this
 * 503 (a GET it sends again itself). Known upstream (cloudflare/workers-sdk#14641, #15317, where the worker never saw
 * the request); not a Cloudflare deployment's behaviour, and not ours. Seen once in some 25 e2e runs, on the
 * banner's halt under two test runs at once: nothing reached the gateway (no admin audit record). The proxy's answer
 * does not prove that in every case (it also covers a failure after the worker answered), so a request sent again
 * may be a second one: the e2e's writes are ones whose second sending is refused and shows (a halt from HALT, an
 * approval already given) or is one more of the same (a loop run, a fast-path tick, a dev sign-in).
 */
const DROPPED_BY_LOCAL_PROXY = "Your worker restarted mid-request";
/** How many times a request the local proxy dropped is sent in all. */
const LOCAL_PROXY_TRIES = 3;

/**
 * Sends (`send`) until the answer is not the local proxy's "dropped", at most LOCAL_PROXY_TRIES times, each time
 * again said in the log; the last answer stands. `answer` reads an answer's status and (only for a 503) its body.
 */
async function sendAgainIfDropped<R>(
  what: string,
  send: () => Promise<R>,
  answer: (r: R) => { status: number; body: () => Promise<string> },
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const r = await send();
    const { status, body } = answer(r);
    if (attempt === LOCAL_PROXY_TRIES || status !== 503 || !(await body()).startsWith(DROPPED_BY_LOCAL_PROXY))
      return r;
    console.log(`[e2e] ${what}: dropped by wrangler's local proxy; sending again`);
  }
}

/**
 * `fetch` against the local mesh, sending again (said in the log) a request the local proxy answered it dropped;
 * anything else, the worker's own 503 among it, is answered as it came.
 */
export function meshFetch(url: string, init: RequestInit): Promise<Response> {
  return sendAgainIfDropped(
    `${init.method ?? "GET"} ${url}`,
    () => fetch(url, init),
    (res) => ({ status: res.status, body: () => res.clone().text() }),
  );
}

/** A Cloudflare Access JWT for `email`, minted by the mesh's Access double (the dev sign-in route). */
export async function accessJwt(mesh: MeshInfo, email: string): Promise<string> {
  const res = await meshFetch(`${mesh.base}/dev/access-token`, {
    method: "POST",
    body: JSON.stringify({ email }),
  });
  if (!res.ok) throw new Error(`dev sign-in for ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Calls the admin API as curl would (set-up steps a test needs; never what it tests). */
export async function api(
  mesh: MeshInfo,
  method: string,
  pathname: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${mesh.adminToken}` },
): Promise<unknown> {
  const res = await meshFetch(`${mesh.base}${pathname}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${pathname} → ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/** A tab on the console that records every browser console error and uncaught page error. */
export interface ConsoleTab {
  context: BrowserContext;
  page: Page;
  errors: string[];
  /** Errors the test provokes on purpose (a request it fails): at most `times` matching ones are allowed. */
  expectErrors(pattern: RegExp, times?: number): void;
  /** Fails on any console error not expected. */
  assertNoErrors(): void;
  close(): Promise<void>;
}

export interface TabOptions {
  /** Signed in through Cloudflare Access as this person: the edge adds the JWT to every request, as Access does. */
  accessJwt?: string;
  width?: number;
  height?: number;
}

/** How long a page's step, navigation or routed write may take on a loaded 2-core machine. */
const PAGE_PATIENCE_MS = 120_000;

export async function openConsole(
  browser: Browser,
  mesh: MeshInfo,
  options: TabOptions = {},
): Promise<ConsoleTab> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1360, height: options.height ?? 900 },
    ...(options.accessJwt ? { extraHTTPHeaders: { "cf-access-jwt-assertion": options.accessJwt } } : {}),
  });
  await sendDroppedAgain(context, mesh);
  const page = await context.newPage();
  // A loaded 2-core machine answers slowly: every wait is for an event, with room to arrive.
  page.setDefaultTimeout(PAGE_PATIENCE_MS);
  page.setDefaultNavigationTimeout(PAGE_PATIENCE_MS);
  const errors: string[] = [];
  const expected: { pattern: RegExp; times: number }[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
  // Without Access, the page's first question (GET /admin/whoami: is an Access person signed in?) is answered 401
  // before the token is typed; Chromium logs that answer as an error. Allowed once, and only then.
  if (!options.accessJwt) expected.push({ pattern: /status of 401/, times: 1 });
  await openPage(page, `${mesh.base}/console`);
  return {
    context,
    page,
    errors,
    expectErrors: (pattern, times = Number.POSITIVE_INFINITY) => expected.push({ pattern, times }),
    assertNoErrors() {
      const left = expected.map((e) => ({ ...e }));
      const unexpected = errors.filter((error) => {
        const match = left.find((e) => e.times > 0 && e.pattern.test(error));
        if (match) match.times -= 1;
        return !match;
      });
      if (unexpected.length > 0) throw new Error(`browser console errors:\n${unexpected.join("\n")}`);
    },
    close: () => context.close(),
  };
}

/**
 * The page's writes to the mesh (a GET the local proxy sends again itself) go through `route.fetch` with every
 * header the browser sent (its Origin among them, which the gateway's cross-site check reads when, as here, Chromium
 * hands an intercepted request no Sec-Fetch-* headers) and
 * the page's own patience; one the local proxy answered it dropped is sent again, as an operator would press again,
 * said in the log. A test's own `page.route` comes first (Playwright's order) and may fall back to this. Routing
 * turns the context's HTTP cache off: every console asset is fetched each time (the console sets no caching the
 * tests rely on).
 */
async function sendDroppedAgain(context: BrowserContext, mesh: MeshInfo): Promise<void> {
  await context.route(
    (url) => url.origin === new URL(mesh.base).origin,
    async (route) => {
      const method = route.request().method();
      if (method === "GET" || method === "HEAD") return route.fallback();
      const headers = await route.request().allHeaders();
      const response = await sendAgainIfDropped(
        `page ${method} ${route.request().url()}`,
        () => route.fetch({ headers, timeout: PAGE_PATIENCE_MS }),
        (r) => ({ status: r.status(), body: () => r.text() }),
      );
      return route.fulfill({ response });
    },
  );
}

/** How long a first navigation may take before it is tried once more. */
export const FIRST_NAVIGATION_MS = 60_000;

/**
 * Opens `url` until its document has loaded. Local `wrangler dev`, under two test runs at once, once held a page's
 * script and style files until the browser gave up (three answers logged at 118.8 s, while the gateway serves
 * them from memory and answered the page itself in 1 s): a navigation that has not loaded in `firstMs` is said in
 * the log and tried once more; a second stall fails the test.
 */
export async function openPage(page: Page, url: string, firstMs = FIRST_NAVIGATION_MS): Promise<void> {
  try {
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: firstMs });
  } catch (error) {
    if (!(error instanceof errors.TimeoutError)) throw error;
    console.log(`[e2e] ${url} had not loaded after ${firstMs / 1000} s; navigating again`);
    await page.goto(url, { waitUntil: "domcontentloaded" });
  }
}

/** Signs in with the admin token through the page's own form (kept for this tab only). */
export async function signInWithToken(tab: ConsoleTab, token: string): Promise<void> {
  await tab.page.getByLabel("Admin token").fill(token);
  await tab.page.getByRole("button", { name: "Use token" }).click();
}

/**
 * A screenshot under .e2e/screenshots (git-ignored): the full page, or only the window (`fullPage: false`, e.g. a
 * phone-width page scrolled to the part worth looking at, which the full page would shrink past reading).
 */
export async function shoot(
  tab: ConsoleTab,
  mesh: MeshInfo,
  name: string,
  { fullPage = true }: { fullPage?: boolean } = {},
): Promise<string> {
  const file = path.join(mesh.screenshots, `${name}.png`);
  await tab.page.screenshot({ path: file, fullPage });
  return file;
}
