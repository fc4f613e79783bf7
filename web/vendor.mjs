// Builds web/static/vendor/ from the packages pinned in package-lock.json: one ES module per
// library (preact + hooks + htm as `ui.js`, i18next, uPlot, HPKE), minified, with the licences beside
// them. The output is committed, so running the server needs no Node.js; tests/web/test_vendor.py
// runs this again and fails if the committed files differ (a bump without a rebuild, or an edit).
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "static", "vendor");
mkdirSync(out, { recursive: true });

const entries = {
  "ui.js": `export { h, render, Fragment, createContext } from "preact";
export { useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback, useContext, useReducer, useId } from "preact/hooks";
import { h } from "preact";
import htm from "htm";
export const html = htm.bind(h);`,
  "i18next.js": `export { default } from "i18next";`,
  "uplot.js": `export { default } from "uplot";`,
  // HPKE (RFC 9180) on WebCrypto: the sealed tender's first suite, as bidserver/sealing seals.
  "hpke.js": `export { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, Aes256Gcm } from "@hpke/core";`,
};

for (const [name, contents] of Object.entries(entries)) {
  await build({
    stdin: { contents, resolveDir: here, loader: "js" },
    bundle: true,
    format: "esm",
    minify: true,
    target: "es2020",
    legalComments: "none", // the licences are in LICENSES.txt beside the bundles
    outfile: join(out, name),
    logLevel: "warning",
  });
}
copyFileSync(join(here, "node_modules/uplot/dist/uPlot.min.css"), join(out, "uplot.css"));

const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const notices = ["@hpke/common", "@hpke/core", "htm", "i18next", "preact", "uplot"].map((pkg) => {
  const version = lock.packages[`node_modules/${pkg}`].version;
  const license = readFileSync(join(here, "node_modules", pkg, "LICENSE"), "utf8").trim();
  return `${pkg} ${version}\n${"=".repeat(pkg.length + version.length + 1)}\n\n${license}\n`;
});
writeFileSync(join(out, "LICENSES.txt"), notices.join("\n"));
