"""The ASGI application `odwatch serve` runs: streamlit_app.py, with the sign-in page drawn as plain
HTML in front of it until Streamlit has started in the browser (dashboard/signin_shell.py).

`streamlit run` finds `app` here and serves it with the options serve passes. Beside
streamlit_app.py, so that Streamlit reads the same project folder's `.streamlit/` either way.
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from dashboard.signin_shell import SignInShell

app = st.App(Path(__file__).resolve().parent / "streamlit_app.py", middleware=[Middleware(SignInShell)])
