// The reference link page: renders any view of the link API from its JSON
// alone, and sends the person's actions back. No framework; every string
// from the server goes into the page as text, never as HTML.
//
// The loop a custom front-end needs is the same: GET /link/v1/session, show
// the view, POST {seq, action} to /link/v1/session/actions, show what comes
// back (200, or 409/422 with the current view), until done/failed/exited.

// Relative to the page (`/link`): behind a proxy that serves this app
// under a path (`--public-url https://x.example/connect`) the page is at
// `/connect/link` and its API at `/connect/link/v1`.
const API = "link/v1";
const app = document.getElementById("app");
const alertBox = document.getElementById("alert");

// The token arrives in the URL once; keep it for this tab only and take it
// out of the address bar (and so out of history and Referer headers).
const params = new URLSearchParams(location.search);
let token = params.get("token");
if (token) {
  sessionStorage.setItem("connectflow.link_token", token);
  history.replaceState(null, "", location.pathname);
} else {
  token = sessionStorage.getItem("connectflow.link_token");
}

let seq = 0;
let busy = false;
let poll = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function say(message) {
  alertBox.textContent = message || "";
}

async function call(method, path, body) {
  const response = await fetch(API + path, {
    method,
    headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json = null;
  try { json = await response.json(); } catch (_) { /* not JSON */ }
  return { status: response.status, json };
}

async function load() {
  if (!token) { show({ type: "failed", reason: "This page needs a link token.", retryable: false }); return; }
  try {
    const { status, json } = await call("GET", "/session");
    handle(status, json);
  } catch (_) {
    say("We could not reach the server. Retrying…");
    schedule(3000);
  }
}

async function act(action) {
  if (busy) return;
  busy = true;
  for (const b of app.querySelectorAll("button, input")) b.disabled = true;
  try {
    const { status, json } = await call("POST", "/session/actions", { seq, action });
    handle(status, json, action);
  } catch (_) {
    say("We could not reach the server. Please try again.");
    for (const b of app.querySelectorAll("button, input")) b.disabled = false;
  } finally {
    busy = false;
  }
}

function handle(status, json, action) {
  if (status === 200 && json) { say(""); show(json.view, json.seq); return; }
  if (status === 401) { show({ type: "failed", reason: "This link has expired or is not valid. Please start again from the app.", retryable: false }); return; }
  if (json && json.view) {
    show(json.view, json.seq, json.fields);
    if (json.error.code === "invalid_values" && action && action.values) restore(action.values);
    say(json.error.code === "invalid_values" ? "Please fix the highlighted fields." : json.error.message);
    if (json.fields) {
      const first = app.querySelector("[aria-invalid=true]");
      if (first) first.focus();
    }
    return;
  }
  say((json && json.error && json.error.message) || "Something went wrong. Please try again.");
  schedule(3000);
}

// After field errors the form is drawn again from the server's view; what
// the person typed stays where it was, so they fix only what is wrong.
function restore(values) {
  for (const [name, value] of Object.entries(values)) {
    for (const input of app.querySelectorAll(`[name="${CSS.escape(name)}"]`)) {
      if (input.type === "radio") input.checked = input.value === value;
      else input.value = value;
    }
  }
}

function schedule(ms) {
  clearTimeout(poll);
  poll = setTimeout(load, ms);
}

function heading(text) {
  return el("h1", { tabindex: "-1", text });
}

// Notices (a refused password, tries left) and failures are announced
// through the alert region, not just shown.
function notice(text) {
  if (text) say(text);
  return null;
}

function show(view, nextSeq, fieldErrors) {
  clearTimeout(poll);
  if (nextSeq !== undefined) seq = nextSeq;
  const render = VIEWS[view.type] || VIEWS.unknown;
  app.replaceChildren(...render(view, fieldErrors || {}).filter(Boolean));
  app.setAttribute("aria-busy", view.type === "working" ? "true" : "false");
  const h = app.querySelector("h1");
  if (h && !(fieldErrors && Object.keys(fieldErrors).length)) h.focus();
}

function exitButton() {
  return el("button", { type: "button", class: "secondary", text: "Exit", onclick: () => act({ type: "exit" }) });
}

function fieldInput(field, id, errorId) {
  const common = {
    id, name: field.name, maxlength: field.max_length || field.length,
    "aria-invalid": field.error ? "true" : null, "aria-describedby": field.error ? errorId : null,
    required: true, autocomplete: field.secret ? "off" : null,
  };
  if (field.type === "choice") {
    const fieldset = el("fieldset", { "aria-describedby": field.error ? errorId : null }, el("legend", { text: field.label }));
    field.options.forEach((o, i) => {
      const oid = id + "-" + i;
      fieldset.append(el("div", {},
        el("input", { type: "radio", id: oid, name: field.name, value: o.value, required: true, checked: field.value === o.value }),
        el("label", { for: oid, text: o.label, style: "display:inline;font-weight:normal;margin-left:0.4rem" })));
    });
    return [fieldset];
  }
  const parts = [el("label", { for: id, text: field.label })];
  if (field.type === "captcha" && field.image) {
    parts.push(el("img", { class: "captcha", src: field.image, alt: "Picture code: " + field.label }));
  }
  parts.push(el("input", { ...common, type: field.secret ? "password" : "text", value: field.value || null }));
  return parts;
}

const VIEWS = {
  working(view) {
    schedule(view.retry_after_ms || 1000);
    return [heading(view.message), el("p", { text: "This can take a few seconds." })];
  },
  choose_institution(view) {
    const list = el("ul", { class: "choices" });
    for (const inst of view.institutions) {
      list.append(el("li", {}, el("button", {
        type: "button", text: inst.name,
        onclick: () => act({ type: "choose_institution", institution: inst.id }),
      })));
    }
    return [heading("Choose your bank"), notice(view.notice), list, el("div", { class: "actions" }, exitButton())];
  },
  form(view, errors) {
    const form = el("form", { novalidate: true });
    form.append(heading(view.title || (view.purpose === "credentials" ? "Log in to " + view.institution.name : "Verify it's you")));
    const n = notice(view.notice);
    if (n) form.append(n);
    view.fields.forEach((field, i) => {
      const id = "field-" + i;
      const errorId = id + "-error";
      const message = errors[field.name] || field.error;
      field = { ...field, error: message };
      for (const part of fieldInput(field, id, errorId)) form.append(part);
      if (message) form.append(el("p", { id: errorId, class: "field-error", text: message }));
    });
    const actions = el("div", { class: "actions" }, el("button", { type: "submit", text: "Continue" }));
    for (const m of view.other_auth_methods || []) {
      actions.append(el("button", { type: "button", class: "secondary", text: "Log in with " + m.label,
        onclick: () => act({ type: "switch_auth_method", auth_method: m.type }) }));
    }
    actions.append(el("button", { type: "button", class: "secondary", text: "Back to banks", onclick: () => act({ type: "back" }) }));
    actions.append(exitButton());
    form.append(actions);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const values = {};
      for (const field of view.fields) {
        const input = field.type === "choice"
          ? form.querySelector(`input[name="${CSS.escape(field.name)}"]:checked`)
          : form.querySelector(`[name="${CSS.escape(field.name)}"]`);
        values[field.name] = input ? input.value : "";
      }
      act({ type: "submit", values });
    });
    return [form];
  },
  choose_account(view) {
    const list = el("ul", { class: "choices" });
    for (const a of view.accounts) {
      const label = [a.name, a.number, a.type, a.currency].filter(Boolean).join(" · ");
      list.append(el("li", {}, el("button", { type: "button", text: label,
        onclick: () => act({ type: "choose_account", index: a.index }) })));
    }
    return [heading("Choose an account"), notice(view.notice), list,
      el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", text: "Back to banks", onclick: () => act({ type: "back" }) }),
        exitButton())];
  },
  linked(view) {
    return [heading("Almost done"), notice(view.notice),
      el("div", { class: "actions" },
        el("button", { type: "button", text: "Try again", onclick: () => act({ type: "retry" }) }),
        exitButton())];
  },
  done(view) {
    if (view.redirect_url) {
      const url = new URL(view.redirect_url);
      url.searchParams.set("public_token", view.public_token);
      url.searchParams.set("reference", view.reference);
      location.assign(url.toString());
    }
    sessionStorage.removeItem("connectflow.link_token");
    const where = view.institution ? "Your " + view.institution.name + " account is linked." : "Your account is linked.";
    return [heading("Account linked"), el("p", { text: where }),
      el("p", { text: "Reference: " + view.reference }),
      el("label", { for: "public-token", text: "Public token" }),
      el("output", { id: "public-token", text: view.public_token })];
  },
  failed(view) {
    sessionStorage.removeItem("connectflow.link_token");
    say(view.reason);
    return [heading("Linking did not work"),
      view.retryable ? el("p", { text: "You can start again from the app." }) : null];
  },
  exited() {
    sessionStorage.removeItem("connectflow.link_token");
    return [heading("You left"), el("p", { text: "No account was linked. You can close this page." })];
  },
  unknown(view) {
    schedule(2000);
    return [heading("Please wait"), el("p", { text: "(" + view.type + ")" })];
  },
};

load();
