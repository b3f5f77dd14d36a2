"""Real-browser tests: JupyterLab in Debian's Chromium, driven by Python Playwright."""
