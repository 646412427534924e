// Prints a Cloudflare Access JWT for an email, minted by the local Access double (dev only), for
// curl -H "Cf-Access-Jwt-Assertion: $(node scripts/dev-login.mjs alice@example.com)" …
// The gateway answers /dev/access-token only when its dev-only VENUE_SIM binding exists, which no
// deployed environment has.
const email = process.argv[2];
if (!email) {
  console.error("usage: node scripts/dev-login.mjs <email>");
  process.exit(2);
}
const port = Number(process.env.PORT ?? 8787);
const res = await fetch(`http://127.0.0.1:${port}/dev/access-token`, {
  method: "POST",
  body: JSON.stringify({ email }),
}).catch(() => null);
if (!res?.ok) {
  console.error(
    `could not mint a dev Access token (is \`pnpm dev\` running?) ${res ? await res.text() : ""}`,
  );
  process.exit(1);
}
process.stdout.write((await res.json()).token);
