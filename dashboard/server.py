"""The ASGI application `odwatch serve` runs: the dashboard, with the sign-in page drawn as plain
HTML in front of it until Streamlit has started in the browser (dashboard/signin_shell.py).

`streamlit run` finds `app` here and serves it with the options serve passes.
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from dashboard.signin_shell import SignInShell

SCRIPT = Path(__file__).resolve().parent.parent / "streamlit_app.py"

app = st.App(SCRIPT, middleware=[Middleware(SignInShell)])
