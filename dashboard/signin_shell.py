"""The sign-in page drawn as plain HTML, before Streamlit's browser code has started.

A fresh browser spends 1.1-1.9 s on this machine loading and starting Streamlit's own code
before any page of ours can be drawn (the empty app of bench/first_render.py). So `odwatch serve`
answers the sign-in page's addresses with Streamlit's own index.html plus a plain copy of the
sign-in form: the browser draws it at once and the user types while Streamlit starts behind it.
When Streamlit's form is ready, the copy hands over what was typed (and the focus) and removes
itself; a sign-in submitted before then goes through Streamlit's form as soon as it is there.
Signing in itself (the password check, the rate limit, the audit) is only ever Streamlit's form.

The copy gives up, showing whatever Streamlit drew, when Streamlit shows an error or finishes a
run without the sign-in form, and after GIVE_UP_AFTER_S in any case. Should a new Streamlit's
index.html not be as expected, the sign-in page is Streamlit's alone again (and a warning logged).
"""

from __future__ import annotations

import html
import logging
import re
from functools import cache
from pathlib import Path

import streamlit as st
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from streamlit.file_util import get_static_dir

from odwatch.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalog
from odwatch.settings import get_settings

SHELL_PATHS = ("/", "/sign-in")     # the sign-in page's addresses (its url_path, and the default)
GIVE_UP_AFTER_S = 30
GRACE_AFTER_RUN_S = 2
ROOT = '<div id="root"></div>'
STYLESHEET = re.compile(r'\s*<link rel="stylesheet"[^>]*>')
MODULE_PRELOAD = re.compile(r'\s*<link rel="modulepreload"[^>]*>')
FONT_PRELOAD = re.compile(r'<link\s+rel="preload"\s+href="([^"]+)"\s+as="font"')
# The keys of Streamlit's own sign-in widgets (dashboard/signin.py); the script finds them by these.
USERNAME_KEY, PASSWORD_KEY, SUBMIT_KEY = "signin_username", "signin_password", "signin_submit"

log = logging.getLogger(__name__)


def oidc_configured() -> bool:
    """OIDC is on when `.streamlit/secrets.toml` has an [auth] section (st.login's configuration)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all means no OIDC
        return False


def shell_language() -> str:
    """A new session's language, as streamlit_app.py chooses it."""
    configured = get_settings().language
    return configured if configured in LANGUAGES else DEFAULT_LANGUAGE


@cache
def shell_page(lang: str) -> bytes | None:
    """This Streamlit's index.html with the plain sign-in form in `lang`; None if it can't have one."""
    return render_shell((Path(get_static_dir()) / "index.html").read_text(encoding="utf-8"), lang)


def render_shell(index: str, lang: str) -> bytes | None:
    """Streamlit's index.html with the plain sign-in form in `lang` in front of the app.

    Streamlit's stylesheet moves from the head to after the form: in the head it held back the
    first paint (and the form's script) until it arrived, behind some sixty preloaded script
    files. Those preload hints go: the browser fetches the same files as soon as it reads
    Streamlit's entry script, which imports them, and without them the form was drawn at 0.31 s
    instead of 0.54 s (median of five fresh browsers), with Streamlit started as soon. The form
    has its own style, and the font Streamlit preloads for itself.
    """
    stylesheets = "".join(STYLESHEET.findall(index))
    font = FONT_PRELOAD.search(index)
    if not stylesheets or not font or ROOT not in index:
        log.warning("Streamlit's index.html has no stylesheet, preloaded font or root element "
                    "where dashboard/signin_shell.py expects them: the sign-in page is drawn "
                    "by Streamlit alone.")
        return None
    messages = catalog(lang)
    text = {key: html.escape(messages[key]) for key in (
        "app.title", "nav.sign_in", "nav.public_notice", "signin.title", "signin.intro",
        "signin.username", "signin.password", "signin.submit", "signin.connecting")}
    form = FORM.format(**{key.replace(".", "_"): value for key, value in text.items()})
    script = SCRIPT.replace("__KEYS__", f'"{USERNAME_KEY}", "{PASSWORD_KEY}", "{SUBMIT_KEY}"') \
                   .replace("__GIVE_UP_MS__", str(GIVE_UP_AFTER_S * 1000)) \
                   .replace("__GRACE_MS__", str(GRACE_AFTER_RUN_S * 1000))
    style = FONT_FACE.replace("__FONT__", font.group(1)) + STYLE
    page = (MODULE_PRELOAD.sub("", STYLESHEET.sub("", index))
            .replace('<html lang="en">', f'<html lang="{"zh-CN" if lang == "zh" else lang}">', 1)
            .replace("<title>Streamlit</title>", f"<title>{text['app.title']}</title>", 1)
            .replace("</head>", f"<style>{style}</style></head>", 1)
            .replace(ROOT, f"{form}{ROOT}<script>{script}</script>{stylesheets}", 1))
    return page.encode("utf-8")


class SignInShell:
    """ASGI middleware: the sign-in page's addresses get `shell_page`, everything else Streamlit.

    Not with OIDC configured: that sign-in page is a button to the identity provider.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = None
        if (scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
                and scope["path"] in SHELL_PATHS and not oidc_configured()):
            page = shell_page(shell_language())
        if page is None:
            await self.app(scope, receive, send)
            return
        # As Streamlit serves index.html: never from a cache without asking.
        await HTMLResponse(page, headers={"Cache-Control": "no-cache"})(scope, receive, send)


# Streamlit's themes (light, and dark where the system asks for it) and layout (1.67, a wide page
# with its sidebar), measured in Chromium, so that the hand-over to Streamlit's own form does not
# move anything the user is looking at.
FONT_FACE = '@font-face{font-family:"odw-sans";src:url(__FONT__) format("woff2");font-display:swap}'
STYLE = """
#odw-shell{position:fixed;inset:0;z-index:1000000;display:flex;background:#fff;color:rgb(49,51,63);
  font-family:"odw-sans","Source Sans",sans-serif;font-size:16px;line-height:1.6;overflow:auto}
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

FORM = """<div id="odw-shell">
<aside><nav>
<a href="./sign-in" aria-current="page">{nav_sign_in}</a>
<a href="./public-notice">{nav_public_notice}</a>
</nav></aside>
<main>
<h1>{signin_title}</h1>
<p class="odw-caption">{signin_intro}</p>
<form>
<label>{signin_username}<input name="username" autocomplete="username" autocapitalize="none"
 spellcheck="false" autofocus></label>
<label>{signin_password}<input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">{signin_submit}</button>
<p class="odw-wait" role="status">{signin_connecting}</p>
</form>
</main>
</div>"""

# Values go into Streamlit's inputs through the input element's own value setter and an input
# event, which is how React learns of a change it did not make.
SCRIPT = """(() => {
  const shell = document.getElementById("odw-shell");
  const form = shell.querySelector("form");
  const [userKey, passwordKey, submitKey] = [__KEYS__];
  const fields = {[userKey]: form.elements.username, [passwordKey]: form.elements.password};
  let submitted = false, composing = false, sawRun = false, grace = null;

  const streamlitForm = () => {
    const found = Object.fromEntries([[userKey, "input"], [passwordKey, "input"], [submitKey, "button"]]
      .map(([key, tag]) => [key, document.querySelector(`.st-key-${key} ${tag}`)]));
    return Object.values(found).every(element => element && !element.disabled) ? found : null;
  };
  const setValue = (input, value) => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(input, value);
    input.dispatchEvent(new Event("input", {bubbles: true}));
  };
  const done = () => { observer.disconnect(); clearTimeout(timer); clearTimeout(grace); shell.remove(); };
  const giveUp = () => handOver() || done();
  const handOver = () => {
    const target = composing ? null : streamlitForm();
    if (!target) return false;
    const focused = Object.keys(fields).find(key => fields[key] === document.activeElement);
    const caret = focused && [fields[focused].selectionStart, fields[focused].selectionEnd];
    Object.entries(fields).forEach(([key, input]) => input.value && setValue(target[key], input.value));
    done();
    if (focused) { target[focused].focus(); target[focused].setSelectionRange(...caret); }
    if (submitted) target[submitKey].click();
    return true;
  };
  // Streamlit drew something else: an error, or a run that ended without the form (which may be
  // drawn a moment after the run's end, hence the grace period).
  const drewSomethingElse = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute("data-test-script-state");
    sawRun = sawRun || state === "running";
    if (sawRun && state === "notRunning" && !grace) {
      grace = setTimeout(giveUp, __GRACE_MS__);
    }
    return !!document.querySelector('[data-testid="stException"]');
  };
  const observer = new MutationObserver(() => handOver() || (drewSomethingElse() && done()));
  const timer = setTimeout(giveUp, __GIVE_UP_MS__);
  form.addEventListener("compositionstart", () => { composing = true; });
  form.addEventListener("compositionend", () => { composing = false; handOver(); });
  form.addEventListener("submit", event => {
    event.preventDefault();
    submitted = true;
    form.classList.add("odw-busy");
    handOver();
  });
  observer.observe(document.getElementById("root"), {childList: true, subtree: true, attributes: true});
})();"""
