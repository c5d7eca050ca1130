"""LibreOffice as an agent's PC uses it, on a document of the drive.

Run by Debian's python3 (with python3-uno, not the project's venv), in the
mount namespace the drive checks give their clients (the site's names and
CA, support.named_host). It starts a headless soffice with a profile of its
own, then:
  create PATH TEXT  writes a new Writer document with TEXT to a local file
                    (the agent uploads it: LibreOffice cannot create a new
                    document on Apache itself, whose LOCK of a new name makes
                    an RFC 2518 lock-null resource that LibreOffice 7.4 then
                    cannot read back: soffice died, measured)
  edit URL TEXT     opens the document at URL for editing (LibreOffice locks
                    it on the server), prints "OPEN", waits for a line on
                    stdin, appends TEXT and saves (prints "SAVED", or
                    "SAVE FAILED <error>"), closes it (unlocking it) and
                    prints "CLOSED"
The URL carries the agent's login and password (userinfo): LibreOffice's
WebDAV client answers the server's 401 with them. (An interaction handler
written in Python cannot answer LibreOffice's password request: pyuno fails
on the request object, SystemError, measured with LibreOffice 7.4.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import uno
import unohelper
from com.sun.star.task import XInteractionHandler


def prop(name, value):  # type: ignore[no-untyped-def]
    item = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    item.Name, item.Value = name, value
    return item


class Approve(unohelper.Base, XInteractionHandler):
    """Says yes to what LibreOffice asks while saving (as a person clicking
    "Save anyway"); logs the question's continuations to stderr."""

    def handle(self, request) -> None:  # type: ignore[no-untyped-def]
        continuations = request.getContinuations()
        kinds = [str(c.getTypes()) for c in continuations]
        print(f"LibreOffice asks; answers offered: {kinds}", file=sys.stderr)
        for continuation, kind in zip(continuations, kinds, strict=True):
            if "Approve" in kind:
                continuation.select()
                return


def connect(pipe: str):  # type: ignore[no-untyped-def]
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    for _ in range(120):
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:  # soffice still starting
            time.sleep(0.5)
    raise SystemExit("soffice did not start")


def main() -> int:
    action, target, text = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="bureau-lo-") as profile:
        pipe = "bureau-lo-" + os.path.basename(profile)
        office = subprocess.Popen(
            [
                *("soffice", "--headless", "--invisible", "--norestore", "--nologo"),
                "--nodefault",
                f"-env:UserInstallation=file://{profile}",
                f"--accept=pipe,name={pipe};urp;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        desktop = None
        try:
            context = connect(pipe)
            desktop = context.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", context
            )
            hidden = (prop("Hidden", True),)
            if action == "create":
                document = desktop.loadComponentFromURL(
                    "private:factory/swriter", "_blank", 0, hidden
                )
                document.getText().setString(text)
                url = unohelper.systemPathToFileUrl(target)
                document.storeToURL(url, (prop("FilterName", "writer8"),))
                document.close(True)
                print("CREATED", flush=True)
                return 0
            handler = prop("InteractionHandler", Approve())
            document = desktop.loadComponentFromURL(target, "_blank", 0, (*hidden, handler))
            if document is None or document.isReadonly():
                print("OPEN FAILED", flush=True)
                return 1
            print("OPEN", flush=True)
            sys.stdin.readline()
            body = document.getText()
            body.insertString(body.getEnd(), "\n" + text, False)
            try:
                document.store()
                print("SAVED", flush=True)
            except Exception as err:  # reported to the check
                print(f"SAVE FAILED {type(err).__name__}: {err}", flush=True)
            document.close(True)
            print("CLOSED", flush=True)
            return 0
        finally:
            try:
                if desktop is not None:
                    desktop.terminate()
            except Exception:  # soffice already gone
                pass
            office.terminate()
            try:
                office.wait(20)
            except subprocess.TimeoutExpired:
                office.kill()


if __name__ == "__main__":
    sys.exit(main())
