"""The sign-in page drawn as plain HTML, before Streamlit's browser code has started.

A fresh browser spends 1.1-1.9 s on this machine loading and starting Streamlit's own code
before any page of ours can be drawn (the empty app of bench/first_render.py). So `odwatch serve`
answers the sign-in page's addresses with Streamlit's own index.html plus a plain copy of the
sign-in form: the browser draws it at once and the user types while Streamlit starts behind it.
When Streamlit's form is ready, the copy hands over what was typed (and the focus) and removes
itself; a sign-in submitted before then goes through Streamlit's form as soon as it is there.
The copy's fields have no names and its form no action: credentials only ever leave the page
through Streamlit's form, whose handling (the password check, the rate limit, the audit) is
unchanged.

The copy is shown by its own script, so a browser that does not run it sees Streamlit alone. It
gives up, showing whatever Streamlit drew, when Streamlit shows an error, or has finished a run
without the sign-in form for GRACE_AFTER_RUN_S, or has not drawn it GIVE_UP_AFTER_S after starting.
Should a new Streamlit's index.html not be as expected, the sign-in page is Streamlit's alone
again (and a warning is logged).

This module is imported with serve_app.py before Streamlit's server exists, so it imports nothing
that declares Streamlit caches (dashboard/signin.py does): the widget keys and the OIDC check
live here, and dashboard/signin.py takes them from here.
"""

from __future__ import annotations

import html
import logging
import re
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

import streamlit as st
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from streamlit import config
from streamlit.file_util import get_static_dir
from streamlit.url_util import make_url_path

from dashboard.navigation import PAGES, SIGN_IN_URL_PATH
from odwatch.i18n import catalog, configured_language

SHELL_ID = "odw-shell"
GIVE_UP_AFTER_S = 30
GRACE_AFTER_RUN_S = 2
# The keys of Streamlit's own sign-in widgets (dashboard/signin.py); the script finds them by these.
USERNAME_KEY, PASSWORD_KEY, SUBMIT_KEY = "signin_username", "signin_password", "signin_submit"
ROOT_ELEMENT = '<div id="root"></div>'
STYLESHEET = re.compile(r'\s*<link rel="stylesheet"[^>]*>')
MODULE_PRELOAD = re.compile(r'\s*<link rel="modulepreload"[^>]*>')
FONT_PRELOAD = re.compile(r'<link\s+rel="preload"\s+href="([^"]+)"\s+as="font"')
MESSAGES = ("app.title", "nav.sign_in", "nav.public_notice", "signin.title", "signin.intro",
            "signin.username", "signin.password", "signin.submit", "signin.connecting")

log = logging.getLogger(__name__)


def oidc_configured() -> bool:
    """OIDC is on when `.streamlit/secrets.toml` has an [auth] section (st.login's configuration)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all means no OIDC
        return False


@cache
def shell_page(lang: str) -> bytes | None:
    """This Streamlit's index.html with the plain sign-in form in `lang`; None if it can't have one."""
    return render_shell((Path(get_static_dir()) / "index.html").read_text(encoding="utf-8"), lang)


def render_shell(index: str, lang: str) -> bytes | None:
    """Streamlit's index.html with the plain sign-in form in `lang` in front of the app.

    Streamlit's stylesheet moves from the head to after the form, and its sixty-odd script
    preload hints go: in the head they held back the first paint (and the form's script), and
    the hints did so wherever they were. The browser fetches the same files as soon as it has read
    Streamlit's entry script, which imports them. Over eight fresh browsers each on this machine,
    the form was drawn at 0.42 s without the hints, 0.90 s with them after the form (median);
    Streamlit's form was ready at 2.16 s and 2.13 s. With 40 ms added to every request, Streamlit
    started as soon without them. The form has its own style, and the font Streamlit preloads.
    """
    stylesheets = STYLESHEET.findall(index)
    font = FONT_PRELOAD.search(index)
    if not stylesheets or not font or ROOT_ELEMENT not in index:
        log.warning("Streamlit's index.html has no stylesheet, preloaded font or root element "
                    "where dashboard/signin_shell.py expects them: the sign-in page is drawn "
                    "by Streamlit alone.")
        return None
    style = FONT_FACE.replace("__FONT__", font.group(1)) + STYLE
    after_root = f"<script>{shell_script()}</script>{''.join(stylesheets)}"
    title = html.escape(catalog(lang)["app.title"])
    page = (MODULE_PRELOAD.sub("", STYLESHEET.sub("", index))
            .replace('<html lang="en">', f'<html lang="{"zh-CN" if lang == "zh" else lang}">', 1)
            .replace("<title>Streamlit</title>", f"<title>{title}</title>", 1)
            .replace("</head>", f"<style>{style}</style></head>", 1)
            .replace(ROOT_ELEMENT, shell_form(lang) + ROOT_ELEMENT + after_root, 1))
    return page.encode("utf-8")


def shell_form(lang: str) -> str:
    messages = catalog(lang)
    text = {key.replace(".", "_"): html.escape(messages[key]) for key in MESSAGES}
    public_notice = next(page for page in PAGES if page.key == "public_notice")
    return FORM.format(shell_id=SHELL_ID, sign_in_path=SIGN_IN_URL_PATH,
                       public_notice_path=public_notice.url_path, **text)


def shell_script() -> str:
    values = {"__SHELL_ID__": SHELL_ID, "__USERNAME_KEY__": USERNAME_KEY,
              "__PASSWORD_KEY__": PASSWORD_KEY, "__SUBMIT_KEY__": SUBMIT_KEY,
              "__GRACE_MS__": str(GRACE_AFTER_RUN_S * 1000), "__GIVE_UP_MS__": str(GIVE_UP_AFTER_S * 1000)}
    return re.sub(r"__[A-Z_]+__", lambda match: values[match.group(0)], SCRIPT)


def shell_paths() -> tuple[str, ...]:
    """The sign-in page's addresses (the app's root, where it is the default page, and its own),
    under the server's base URL path."""
    base = config.get_option("server.baseUrlPath")
    return make_url_path(base, ""), make_url_path(base, SIGN_IN_URL_PATH)


def wants_shell(scope: Scope) -> bool:
    """A browser asking for the sign-in page: not embedded in another page (Streamlit then draws
    no sidebar), and with local accounts (with OIDC, that page is a button to the provider)."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    if scope["path"] not in shell_paths():
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return "embed" not in query and not oidc_configured()


class SignInShell:
    """ASGI middleware: the sign-in page's addresses get `shell_page`, everything else Streamlit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = shell_page(configured_language()) if wants_shell(scope) else None
        if page is None:
            await self.app(scope, receive, send)
            return
        # As Streamlit serves index.html: never from a cache without asking.
        await HTMLResponse(page, headers={"Cache-Control": "no-cache"})(scope, receive, send)


# Streamlit's themes (light, and dark where the system asks for it) and layout (1.67, a wide page
# with its sidebar), measured in Chromium, so that the hand-over to Streamlit's own form does not
# move anything the user is looking at. Hidden until its script shows it.
FONT_FACE = '@font-face{font-family:"odw-sans";src:url(__FONT__) format("woff2");font-display:swap}'
STYLE = """
#odw-shell{position:fixed;inset:0;z-index:1000000;display:none;background:#fff;color:rgb(49,51,63);
  font-family:"odw-sans","Source Sans",sans-serif;font-size:16px;line-height:1.6;overflow:auto}
#odw-shell.odw-shown{display:flex}
#odw-shell aside{flex:0 0 301px;box-sizing:border-box;padding:76px 30px;background:rgb(248,248,247);
  border-right:1px solid rgb(231,229,226)}
#odw-shell nav a{display:block;padding:2px 8px;margin-bottom:6px;line-height:24px;border-radius:8px;
  color:rgb(47,45,43);text-decoration:none}
#odw-shell nav a[aria-current]{background:rgba(47,45,43,.1);font-weight:600}
#odw-shell main{flex:1;box-sizing:border-box;padding:96px 80px 160px;color:rgb(47,45,43)}
#odw-shell h1{margin:0;padding:20px 0 16px;font-size:44px;line-height:52.8px;font-weight:700}
#odw-shell .odw-caption{margin:0 0 16px;font-size:14px;line-height:22.4px;color:rgba(47,45,43,.6)}
#odw-shell form{border:1px solid rgb(220,216,212);border-radius:8px;padding:15px;display:flex;
  flex-direction:column;gap:16px}
#odw-shell label{display:flex;flex-direction:column;gap:4px;font-size:14px;line-height:24px}
#odw-shell input{box-sizing:border-box;height:40px;padding:8px 12px;font:inherit;font-size:14px;
  color:inherit;background:rgb(248,248,247);border:1px solid rgb(248,248,247);border-radius:8px;outline:none}
#odw-shell input:focus{border-color:rgb(197,57,72)}
#odw-shell button{align-self:flex-start;height:40px;padding:4px 12px;font:inherit;font-size:14px;color:#fff;
  background:rgb(197,57,72);border:1px solid rgb(197,57,72);border-radius:8px;cursor:pointer}
#odw-shell .odw-busy button{opacity:.6;cursor:progress}
#odw-shell .odw-wait{display:none;margin:0;font-size:14px;color:rgba(47,45,43,.6)}
#odw-shell .odw-busy .odw-wait{display:block}
@media (max-width:767px){#odw-shell aside{display:none}#odw-shell main{padding:64px 16px}}
@media (prefers-color-scheme:dark){
  #odw-shell{background:rgb(23,22,20)}
  #odw-shell aside{background:rgb(33,32,29);border-color:rgb(53,51,47)}
  #odw-shell main,#odw-shell nav a{color:rgb(250,250,250)}
  #odw-shell nav a[aria-current]{background:rgb(72,72,67)}
  #odw-shell .odw-caption,#odw-shell .odw-wait{color:rgba(250,250,250,.6)}
  #odw-shell form{border-color:rgb(74,71,66)}
  #odw-shell input{background:rgb(45,43,39);border-color:rgb(45,43,39)}
}
"""

# No names on the fields and no action on the form: nothing can be sent from them, whatever
# happens to the script. autocomplete tells password managers what the fields are.
FORM = """<div id="{shell_id}">
<aside><nav>
<a href="./{sign_in_path}" aria-current="page">{nav_sign_in}</a>
<a href="./{public_notice_path}">{nav_public_notice}</a>
</nav></aside>
<main>
<h1>{signin_title}</h1>
<p class="odw-caption">{signin_intro}</p>
<form>
<label>{signin_username}<input id="odw-username" autocomplete="username" autocapitalize="none"
 spellcheck="false" autofocus></label>
<label>{signin_password}<input id="odw-password" type="password" autocomplete="current-password"></label>
<button type="submit">{signin_submit}</button>
<p class="odw-wait" role="status">{signin_connecting}</p>
</form>
</main>
</div>"""

# Values go into Streamlit's inputs through the input element's own value setter and an input
# event, which is how React learns of a change it did not make; the submit click waits a frame,
# so that React has drawn the new values before Streamlit's form reads them. The hand-over waits
# while the user is composing text with an input method, and while a field the browser filled in
# keeps its value from scripts (Chrome does with a saved password, until the user first acts).
SCRIPT = """(() => {
  const shell = document.getElementById("__SHELL_ID__");
  shell.classList.add("odw-shown");
  const form = shell.querySelector("form");
  const fields = {"__USERNAME_KEY__": form.querySelector("#odw-username"),
                  "__PASSWORD_KEY__": form.querySelector("#odw-password")};
  let submitted = false, composing = false, userActed = false, over = false, grace = null, timer = null;
  // After the event has done its work in the copy (a key typed into it, say), not before.
  const acted = () => { userActed = true; setTimeout(handOver); };

  const streamlitForm = () => {
    const found = Object.fromEntries([["__USERNAME_KEY__", "input"], ["__PASSWORD_KEY__", "input"],
                                      ["__SUBMIT_KEY__", "button"]]
      .map(([key, tag]) => [key, document.querySelector(`.st-key-${key} ${tag}`)]));
    return Object.values(found).every(element => element && !element.disabled) ? found : null;
  };
  const autofilled = input => {
    try { return input.matches(":autofill"); } catch { return input.matches(":-webkit-autofill"); }
  };
  const withheld = () => !userActed && Object.values(fields).some(input => !input.value && autofilled(input));
  const setValue = (input, value) => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(input, value);
    input.dispatchEvent(new Event("input", {bubbles: true}));
  };
  const done = () => {
    over = true;
    observer.disconnect();
    clearTimeout(timer);
    clearTimeout(grace);
    ["keydown", "pointerdown"].forEach(kind => document.removeEventListener(kind, acted, true));
    shell.remove();
  };
  const handOver = () => {
    const target = over || composing || withheld() ? null : streamlitForm();
    if (!target) return false;
    const focused = Object.keys(fields).find(key => fields[key] === document.activeElement);
    const caret = focused && [fields[focused].selectionStart, fields[focused].selectionEnd];
    Object.entries(fields).forEach(([key, input]) => input.value && setValue(target[key], input.value));
    done();
    if (focused) { target[focused].focus(); target[focused].setSelectionRange(...caret); }
    if (submitted) requestAnimationFrame(() => target["__SUBMIT_KEY__"].click());
    return true;
  };
  // Once Streamlit's form is there, the hand-over waits for the user alone; until then, the copy
  // gives up on Streamlit's form when a run has ended without it (a grace period later, and for
  // as long as widget code is still loading), or long after Streamlit started.
  const giveUp = () => {
    if (over || streamlitForm()) return;
    if (document.querySelector('[data-testid="stSkeleton"]')) {
      grace = setTimeout(giveUp, __GRACE_MS__);
      return;
    }
    done();
  };
  const watch = () => {
    if (handOver()) return;
    const app = document.querySelector('[data-testid="stApp"]');
    if (app && !timer) timer = setTimeout(giveUp, __GIVE_UP_MS__);
    if (app && app.getAttribute("data-test-script-state") === "notRunning" && !grace) {   // after a run
      grace = setTimeout(giveUp, __GRACE_MS__);
    }
    if (document.querySelector('[data-testid="stException"]')) done();
  };
  const observer = new MutationObserver(watch);
  form.addEventListener("compositionstart", () => { composing = true; });
  form.addEventListener("compositionend", () => { composing = false; handOver(); });
  ["keydown", "pointerdown"].forEach(kind => document.addEventListener(kind, acted, true));
  form.addEventListener("submit", event => {
    event.preventDefault();
    submitted = userActed = true;
    form.classList.add("odw-busy");
    handOver();
  });
  observer.observe(document.getElementById("root"), {childList: true, subtree: true, attributes: true});
})();"""
