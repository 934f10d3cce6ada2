#!/usr/bin/env python3
"""Drives a real headless Chromium over the DevTools protocol for the
window's browser tests.

Reads one JSON command per line on stdin, answers one JSON line on stdout:
  {"cmd":"navigate","url":U}              -> {"ok":true}
  {"cmd":"eval","expr":E}                 -> {"ok":true,"value":V}   (E's value, JSON-serialisable)
  {"cmd":"wait","expr":E,"timeout_ms":T}  -> {"ok":true,"value":V} once E is truthy, else {"ok":false,"error":"timeout ..."}
  {"cmd":"screenshot","path":P}           -> {"ok":true}             (PNG of the page)
  {"cmd":"errors"}                        -> {"ok":true,"value":[...]} console errors, uncaught exceptions, failed loads
  {"cmd":"requests"}                      -> {"ok":true,"value":[...]} every URL the page requested
  {"cmd":"quit"}
Needs Debian's chromium and PyPI's websocket-client (Tools/setup.sh installs both).
"""
import base64, json, os, shutil, subprocess, sys, tempfile, time, urllib.request

import websocket  # websocket-client

START_TIMEOUT_S = 30      # chromium's first start on a loaded 2-core machine
COMMAND_TIMEOUT_S = 30    # one DevTools call


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="careerlog-cdp-")
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        if not binary:
            raise SystemExit("chromium is not installed: run Tools/setup.sh (Debian package chromium)")
        self.process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--metrics-recording-only", "--remote-debugging-port=0", "--remote-allow-origins=*",
             "--window-size=1400,1800", "--user-data-dir=" + self.profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + START_TIMEOUT_S
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if time.time() > deadline or self.process.poll() is not None:
                raise SystemExit("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(open(port_file).read().split("\n")[0])
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=COMMAND_TIMEOUT_S, suppress_origin=True)
        self.next_id = 0
        self.errors, self.requests = [], []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == my_id:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"].get("message")))
                return message.get("result", {})
            self.event(message)

    def event(self, message):
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append("console.%s: %s" % (params["type"], " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append("exception: %s" % (details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.errors.append("log: %s %s" % (params["entry"].get("text"), params["entry"].get("url", "")))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url"))
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            self.errors.append("load failed: %s" % params.get("errorText"))

    def evaluate(self, expr):
        result = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError("evaluation threw: %s" % result["exceptionDetails"].get("exception", {}).get("description"))
        return result.get("result", {}).get("value")

    def pump(self, seconds):
        """Lets events arrive (console messages) for up to `seconds`."""
        self.ws.settimeout(seconds)
        try:
            while True:
                self.event(json.loads(self.ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self.ws.settimeout(COMMAND_TIMEOUT_S)

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def handle(browser, command):
    cmd = command["cmd"]
    if cmd == "navigate":
        browser.call("Page.navigate", url=command["url"])
        return None
    if cmd == "eval":
        return browser.evaluate(command["expr"])
    if cmd == "wait":
        deadline = time.time() + command.get("timeout_ms", 10000) / 1000
        while True:
            value = browser.evaluate(command["expr"])
            if value:
                return value
            if time.time() > deadline:
                raise RuntimeError("timeout waiting for: %s (last value %r)" % (command["expr"], value))
            browser.pump(0.1)
    if cmd == "screenshot":
        data = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        os.makedirs(os.path.dirname(command["path"]), exist_ok=True)
        with open(command["path"], "wb") as f:
            f.write(base64.b64decode(data))
        return None
    if cmd == "errors":
        browser.pump(0.2)
        return browser.errors
    if cmd == "requests":
        return browser.requests
    raise RuntimeError("unknown command %s" % cmd)


def main():
    browser = Browser()
    print(json.dumps({"ok": True, "value": "ready"}), flush=True)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command["cmd"] == "quit":
                break
            try:
                print(json.dumps({"ok": True, "value": handle(browser, command)}), flush=True)
            except Exception as error:  # answered, so the test sees what failed
                print(json.dumps({"ok": False, "error": str(error)}), flush=True)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
