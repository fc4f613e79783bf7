// @ts-check
/**
 * The shell: sign-in state, language, navigation, and the page the address names.
 *
 * Pages are modules (pages/index.js); the shell gives each its parameters and keeps what every
 * page shares: the header, the language switch, the screen-reader announcer, and focus moved to
 * the new page's heading after navigation (keyboard and screen-reader users land on it).
 */
import { html, render, useState, useEffect } from "../vendor/ui.js";
import { startI18n, setLanguage, language, onLanguageChange, t } from "./i18n.js";
import { claims, onSessionChange, signOut, adoptTokenFromLink } from "./session.js";
import { current, match, go, href } from "./router.js";
import { ROUTES } from "./pages/index.js";
import { NAV, home } from "./pages/nav.js";
import { Announcer } from "./components/announcer.js";

/** Re-renders on every change of address, language or session. */
function useShellState() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const bump = () => setTick((n) => n + 1);
    const onHash = () => {
      adoptTokenFromLink();
      bump();
    };
    window.addEventListener("hashchange", onHash);
    const offLang = onLanguageChange(bump);
    const offSession = onSessionChange(bump);
    return () => {
      window.removeEventListener("hashchange", onHash);
      offLang();
      offSession();
    };
  }, []);
}

function LanguageSwitch() {
  const lang = language();
  return html`<div class="lang" role="group" aria-label=${t("shell.language")}>
    <button type="button" class="link" aria-pressed=${lang === "en"} lang="en"
      onClick=${() => setLanguage("en")}>English</button>
    <button type="button" class="link" aria-pressed=${lang === "zh"} lang="zh-CN"
      onClick=${() => setLanguage("zh")}>中文</button>
  </div>`;
}

function Header() {
  const who = claims();
  return html`<header class="top">
    <a class="skip" href="#main" onClick=${(/** @type {Event} */ e) => {
      e.preventDefault();
      document.getElementById("main")?.focus();
    }}>${t("shell.skip")}</a>
    <a class="brand" href=${href(home(who?.role ?? ""))}>bidserver</a>
    ${who && html`<nav aria-label=${t("shell.nav")}>
      ${(NAV[who.role] ?? []).map(([key, to]) => html`<a href=${href(to)}>${t(key)}</a>`)}
    </nav>`}
    <div class="spacer"></div>
    <${LanguageSwitch} />
    ${who && html`<div class="who">
      <span>${who.name || who.org} · ${t(`roles.${who.role}`)}</span>
      <button type="button" class="link" onClick=${() => { signOut(); go("/signin"); }}>
        ${t("shell.sign_out")}</button>
    </div>`}
  </header>`;
}

/** @param {{load: () => Promise<any>, props: Record<string, unknown>, title: string}} p */
function Page({ load, props, title }) {
  const [Component, setComponent] = useState(/** @type {any} */ (null));
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    setComponent(null);
    load().then((module) => live && setComponent(() => module.default), () => live && setFailed(true));
    return () => { live = false; };
  }, [load]);
  useEffect(() => {
    document.title = `${t(title)} · bidserver`;
  });
  if (failed) return html`<p role="alert">${t("shell.load_failed")}</p>`;
  if (!Component) return html`<p role="status" class="muted">${t("shell.loading")}</p>`;
  return html`<${Component} ...${props} />`;
}

function Shell() {
  useShellState();
  const { path: asked, query } = current();
  const who = claims();
  const path = asked === "/" && who ? home(who.role) : asked;
  const found = match(ROUTES, path);
  let body;
  if (!found) {
    body = html`<h1 tabindex="-1">${t("shell.not_found")}</h1>
      <p><a href=${href("/auctions")}>${t("auctions.title")}</a></p>`;
  } else if (!found.route.public && !who) {
    const next = path === "/" ? "/auctions" : path;
    const SignIn = ROUTES[0];
    body = html`<${Page} load=${SignIn.load} title=${SignIn.title} props=${{ next }} />`;
  } else if (found.route.roles && who && !found.route.roles.includes(who.role)) {
    // a supplier who follows a console link lands in its live room, and the other way round
    const id = /^\/(auctions|room)\//.test(found.route.pattern) ? found.params.id : "";
    if (id && who.role === "supplier") go(`/room/${encodeURIComponent(id)}`);
    else if (id && who.role !== "supplier") go(`/auctions/${encodeURIComponent(id)}`);
    body = html`<p role="alert">${t("shell.not_for_role")}</p>`;
  } else {
    body = html`<${Page} key=${path} load=${found.route.load}
      title=${found.route.title} props=${{ ...found.params, query }} />`;
  }
  useEffect(() => {
    // After navigation, focus the page's heading (once it is there).
    const heading = document.querySelector("main h1");
    if (heading instanceof HTMLElement) heading.focus({ preventScroll: true });
  }, [path, language()]);
  return html`<${Header} />
    <main id="main" tabindex="-1">${body}</main>
    <${Announcer} />`;
}

async function start() {
  adoptTokenFromLink();
  await startI18n();
  const root = document.getElementById("app");
  if (!root) return;
  root.textContent = "";
  render(html`<${Shell} />`, root);
}

void start();
