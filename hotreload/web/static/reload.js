// hotreload browser reload: added to HTML pages by `hotreload up` in a reloading profile.
// Listens to the server's events (Server-Sent Events, same origin) and
//   - reloads the page after an accepted save, a template edit, or a restart;
//   - swaps a changed stylesheet in place (no navigation);
//   - shows why a save was rejected (or needs a restart) in an overlay, until the next good save.
(() => {
  "use strict";
  const me = document.currentScript;
  if (!me || window.__hotreload) return; // added twice (a page that includes it, a frame)
  const base = new URL(me.src).pathname.replace(/reload\.js$/, "");
  const page = {
    run: me.dataset.hotreloadRun, // the server run that built this page
    generation: Number(me.dataset.hotreloadGeneration), // page-changing saves before it
  };
  const hr = (window.__hotreload = { connected: false, problems: new Map(), swaps: 0 });
  let source = null;
  let polling = false; // the stream was lost: asking the server until it answers
  let leaving = false;
  let lostAt = 0;
  addEventListener("pagehide", () => {
    leaving = true;
    if (source) source.close();
  });

  const wait = (ms) => new Promise((done) => setTimeout(done, ms));

  async function state(timeoutMs) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const response = await fetch(base + "state", { cache: "no-store", signal: abort.signal });
      return response.ok ? await response.json() : null;
    } catch (_) {
      return null; // not answering yet (restarting, stopped)
    } finally {
      clearTimeout(timer);
    }
  }

  function reload() {
    if (leaving) return;
    leaving = true;
    if (source) source.close();
    location.reload();
  }

  // Subscribe first, then read the state: an event in between is seen twice, never missed.
  // A hidden tab holds no stream (a browser opens at most 6 connections to one server, and
  // each stream keeps one): it connects, and catches up, once it is shown again.
  function connect() {
    if (leaving || source || document.visibilityState === "hidden") return;
    const mine = (source = new EventSource(base + "events"));
    source.onopen = async () => {
      const now = await state(5000);
      if (source !== mine) return; // closed meanwhile (hidden, lost)
      if (now === null) return lost();
      if (now.run !== page.run || now.generation !== page.generation) return reload();
      hr.connected = true;
      lostAt = 0;
      status(null);
      hr.problems.clear();
      for (const problem of now.problems) hr.problems.set(keyOf(problem), problem);
      render();
    };
    source.onmessage = (message) => handle(JSON.parse(message.data));
    source.onerror = () => lost();
  }

  // The stream ended: the server stops, restarts, or the network blinked. Ask until it answers;
  // a new run (a restart) or a missed page-changing save reloads the page, else reconnect.
  async function lost() {
    if (leaving || !source) return;
    disconnect();
    polling = true;
    lostAt = lostAt || Date.now();
    try {
      for (let pause = 100; !leaving; pause = Math.min(pause * 2, 1000)) {
        const now = await state(2000);
        if (now !== null) {
          if (now.run !== page.run || now.generation !== page.generation) return reload();
          return;
        }
        if (Date.now() - lostAt > 1500) status("waiting for the server to answer…");
        await wait(pause);
      }
    } finally {
      polling = false;
      connect();
    }
  }

  function disconnect() {
    if (source) source.close();
    source = null;
    hr.connected = false;
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") disconnect();
    else if (!polling) connect();
  });

  function handle(event) {
    switch (event.event) {
      case "reload.accepted":
        hr.problems.delete(keyOf(event));
        render();
        return reload();
      case "reload.unchanged": // the file is back to what runs: nothing is wrong any more
        if (hr.problems.delete(keyOf(event))) render();
        return;
      case "reload.rejected":
      case "reload.restart_needed":
      case "server.failed":
        hr.problems.set(keyOf(event), event);
        return render();
      case "server.restarting":
        return status(`restarting: ${event.message || event.reason || ""}`);
      case "asset.changed":
        if (event.kind === "stylesheet") return swapStylesheet(event);
        return reload();
    }
  }

  const keyOf = (event) => event.module || "server";

  // -- stylesheets ------------------------------------------------------------------------------

  function swapStylesheet(event) {
    const links = [...document.querySelectorAll('link[rel~="stylesheet"][href]')].filter(
      (link) => new URL(link.href, location.href).origin === location.origin,
    );
    const name = "/" + event.file.split(/[\\/]/).pop();
    let matched = links.filter((link) => {
      const path = new URL(link.href, location.href).pathname;
      return event.url ? path === event.url : path.endsWith(name);
    });
    if (matched.length === 0) matched = links; // imported by another sheet: refresh them all
    for (const link of matched) {
      // The page's own URL too: a later reload must not get the old sheet from the HTTP cache.
      fetch(link.href, { cache: "reload" }).catch(() => {});
      const fresh = link.cloneNode();
      const url = new URL(link.href, location.href);
      url.searchParams.set("hotreload", String(Date.now()));
      fresh.href = url.href;
      fresh.addEventListener("load", () => link.remove(), { once: true });
      fresh.addEventListener("error", () => fresh.remove(), { once: true });
      link.after(fresh); // the old one stays until the new one applies: no flash of no style
    }
    hr.swaps += 1;
  }

  // -- the overlay -------------------------------------------------------------------------------

  const STYLE = `
    :host { all: initial; }
    .panel { position: fixed; inset: auto 16px 16px 16px; max-height: 60vh; overflow: auto;
      z-index: 2147483647; background: #1e1e24; color: #f2f2f2; border-left: 6px solid #e5484d;
      border-radius: 6px; box-shadow: 0 8px 30px rgba(0,0,0,.45); padding: 14px 18px;
      font: 14px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
    .panel.warning { border-left-color: #f5a524; }
    h1 { font: 600 15px/1.4 system-ui, sans-serif; margin: 0 0 8px; }
    .item + .item { border-top: 1px solid #3a3a44; margin-top: 10px; padding-top: 10px; }
    .code { display: inline-block; background: #e5484d; color: #fff; border-radius: 3px;
      padding: 0 6px; margin-right: 8px; }
    .warning .code { background: #f5a524; color: #111; }
    .module { font-weight: 600; }
    .where { color: #9ecbff; margin-top: 4px; word-break: break-all; }
    pre { white-space: pre-wrap; margin: 6px 0 0; font: inherit; }
    .hint { color: #a0a0ab; margin-top: 8px; font-family: system-ui, sans-serif; font-size: 12px; }
    button { position: absolute; top: 8px; right: 10px; background: none; border: 0;
      color: #a0a0ab; font-size: 18px; cursor: pointer; }
    .status { position: fixed; right: 12px; bottom: 12px; z-index: 2147483647;
      background: #1e1e24; color: #f2f2f2; padding: 6px 10px; border-radius: 4px;
      font: 12px system-ui, sans-serif; opacity: .9; }`;

  let host = null;

  function root() {
    if (host && host.isConnected) return host.shadowRoot;
    host = document.createElement("hotreload-overlay");
    host.attachShadow({ mode: "open" });
    document.documentElement.appendChild(host);
    return host.shadowRoot;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function where(event) {
    const lines = [event.line, ...(event.violations || []).map((v) => v.line)];
    const line = [...lines, ...(event.causes || []).map((c) => c.line)].find(
      (l) => typeof l === "number",
    );
    if (!event.path) return null;
    return line ? `${event.path}:${line}` : event.path;
  }

  function render() {
    if (hr.problems.size === 0 && !host) return; // nothing shown, nothing added to the page
    const shadow = root();
    shadow.querySelector(".panel")?.remove();
    if (!shadow.querySelector("style")) shadow.appendChild(element("style", "", STYLE));
    if (hr.problems.size === 0) return;
    const problems = [...hr.problems.values()];
    const warning = problems.every((p) => p.event === "reload.restart_needed");
    const panel = element("div", warning ? "panel warning" : "panel");
    panel.setAttribute("role", "alert");
    const title = warning ? "hotreload: a save needs a restart" : "hotreload: a save was not applied";
    panel.appendChild(element("h1", "", title));
    for (const problem of problems) {
      const item = element("div", "item");
      item.dataset.reason = problem.reason || "";
      item.appendChild(element("span", "code", problem.reason || problem.event));
      item.appendChild(element("span", "module", problem.module || "server"));
      const at = where(problem);
      if (at) item.appendChild(element("div", "where", at));
      item.appendChild(element("pre", "message", problem.message || ""));
      panel.appendChild(item);
    }
    panel.appendChild(
      element("div", "hint", "The app still runs the last version that was applied. " +
        "Fix the file and save: this closes by itself."),
    );
    const close = element("button", "", "×");
    close.title = "Hide until the next problem";
    close.addEventListener("click", () => panel.remove());
    panel.appendChild(close);
    shadow.appendChild(panel);
  }

  function status(text) {
    if (!text && !host) return;
    const shadow = root();
    shadow.querySelector(".status")?.remove();
    if (!shadow.querySelector("style")) shadow.appendChild(element("style", "", STYLE));
    if (text) shadow.appendChild(element("div", "status", `hotreload: ${text}`));
  }

  connect();
})();
