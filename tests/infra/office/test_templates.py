"""The ministries' letterhead templates in LibreOffice, asked of LibreOffice
itself, run as an agent on the office host after his RDP login (headless,
through its Python bridge): its template path holds the folder his login
made for him, its template list (the folders and titles Fichier > Nouveau >
Modèles shows) has his ministry with a letter and a note de service and no
other ministry, a document made from the letter carries the letterhead, and
neither the agent nor LibreOffice run as him can write into the templates'
folders."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from testinfra.host import Host

from ..testsupport import agent, artifacts_dir
from .support import login_command, sessions_of, start, stop, wait_for

pytestmark = pytest.mark.readonly  # LibreOffice run as the agent, its profile thrown away

UID = "kokou.agbeko"
MINISTRY = "mef"
MINISTRY_NAME = "Ministère de l'Économie et des Finances"
TEMPLATES = "/usr/share/bureau/modeles"
# The folder his login makes for him (bureau-office-modeles, a PAM step).
OWN = f"/run/bureau-office-modeles/{UID}"
DASH = "\u2013"  # the en dash of the titles and the motto

# Run on the office host as the agent: starts LibreOffice headless with a
# profile of its own (as at an agent's first start), asks it through UNO,
# prints what it found as JSON, and throws the profile away.
PROBE = r"""
import json, os, shutil, subprocess, sys, tempfile, time
import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.io import IOException

TEMPLATES, MINISTRY = sys.argv[1], sys.argv[2]

def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p

def texts(text):
    # Paragraphs and table cells of a text (the letterhead is a table).
    parts = text.createEnumeration()
    while parts.hasMoreElements():
        part = parts.nextElement()
        if part.supportsService("com.sun.star.text.TextTable"):
            for cell in part.getCellNames():
                yield part.getCellByName(cell).getString()
        else:
            yield part.getString()

home = tempfile.mkdtemp(prefix="bureau-modeles-")
pipe = "bureau-modeles-%d" % os.getpid()
office = subprocess.Popen(
    ["soffice", "--headless", "--invisible", "--norestore", "--nologo", "--nolockcheck",
     "-env:UserInstallation=file://" + home + "/profile", "--accept=pipe,name=%s;urp;" % pipe],
    env=dict(os.environ, HOME=home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
found = {}
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(120):
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except NoConnectException:
            time.sleep(1)
    smgr = ctx.ServiceManager
    paths = smgr.createInstanceWithContext("com.sun.star.util.PathSettings", ctx)
    found["internal"] = list(paths.getPropertyValue("Template_internal"))
    found["writable"] = paths.getPropertyValue("Template_writable")
    # What its template dialog lists from those paths: each folder is a
    # category, each document in it a template shown by its title.
    files = smgr.createInstanceWithContext("com.sun.star.ucb.SimpleFileAccess", ctx)
    found["list"] = {}
    for path in found["internal"]:
        if not files.isFolder(path):
            continue
        for folder in files.getFolderContents(path, True):
            if not files.isFolder(folder):
                continue
            titles = []
            for document in files.getFolderContents(folder, False):
                properties = smgr.createInstanceWithContext(
                    "com.sun.star.document.DocumentProperties", ctx)
                properties.loadFromMedium(document, ())
                titles.append(properties.Title)
            found["list"][folder] = titles
    # A new document from the ministry's letter, as the dialog makes it.
    desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    template = uno.systemPathToFileUrl(TEMPLATES + "/" + MINISTRY + "/lettre.ott")
    document = desktop.loadComponentFromURL(
        template, "_blank", 0, (prop("AsTemplate", True), prop("Hidden", True)))
    style = document.StyleFamilies.getByName("PageStyles").getByName(
        document.getText().getStart().PageStyleName)
    found["document"] = {
        "url": document.getURL(),
        "template": document.DocumentProperties.TemplateURL,
        "header": list(texts(style.HeaderText)) if style.HeaderIsOn else [],
        "body": list(texts(document.getText())),
    }
    # Saved as a template into the templates' folder: refused.
    target = uno.systemPathToFileUrl(TEMPLATES + "/" + MINISTRY + "/bureau-check.ott")
    try:
        document.storeToURL(target, (prop("FilterName", "writer8_template"),))
        found["stored"] = target
    except IOException as err:
        found["stored"] = None
        found["refused"] = type(err).__name__
    document.close(True)
    desktop.terminate()
finally:
    try:
        office.wait(30)
    except subprocess.TimeoutExpired:
        office.kill()
    shutil.rmtree(home, ignore_errors=True)
print(json.dumps(found, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def logged_in(office: Host, rdp_prefix: list[str], office_name: str) -> Iterator[None]:
    """His RDP login (FreeRDP), from no session and no templates' folder:
    the login step makes it."""
    who = agent(UID)
    office.run("loginctl terminate-user %s", UID)
    office.run("rm -rf %s", OWN)
    client = start(
        login_command(rdp_prefix, office_name, who.uid, who.password),
        artifacts_dir("office") / "templates-session.log",
    )
    try:
        assert wait_for(lambda: sessions_of(office, UID), 60), f"no desktop for {UID}"
        yield
    finally:
        stop(client)
        office.run("loginctl terminate-user %s", UID)
        office.run("systemctl start bureau-office-drive-sweep.service")


@pytest.fixture(scope="module")
def asked(office: Host, logged_in: None) -> dict:
    """What LibreOffice, run as the agent, says of its templates."""
    run = office.run("cd /tmp && runuser -u %s -- python3 -c %s %s %s", UID, PROBE, OWN, MINISTRY)
    # Whatever happened, nothing stays in the templates' folder.
    office.run("rm -f %s", f"{TEMPLATES}/{MINISTRY}/bureau-check.ott")
    assert run.rc == 0 and run.stdout.strip(), run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_libreoffice_has_his_templates_folder_in_its_template_path(asked: dict) -> None:
    assert f"file://{OWN}" in asked["internal"], asked["internal"]
    assert not any(path.startswith(f"file://{TEMPLATES}") for path in asked["internal"])
    # Its own templates still go to its profile, not to the ministries' folder.
    assert not asked["writable"].startswith(f"file://{TEMPLATES}"), asked["writable"]


def test_the_template_list_shows_his_ministry_only_with_a_letter_and_a_note(
    office: Host, asked: dict
) -> None:
    folder = f"file://{OWN}/{MINISTRY}"
    ours = sorted(path for path in asked["list"] if path.startswith("file:///run/"))
    assert ours == [folder], ours
    # His folder (root's): his ministry's folder linked, and the names, nothing else.
    assert office.file(f"{OWN}/{MINISTRY}").linked_to == f"{TEMPLATES}/{MINISTRY}"
    assert sorted(office.run("ls -A %s", OWN).stdout.split()) == ["groupuinames.xml", MINISTRY]
    expected = [f"Lettre {DASH} MEF", f"Note de service {DASH} MEF"]
    assert sorted(asked["list"][folder]) == expected, asked["list"][folder]
    # The category is shown under the ministry's name (LibreOffice's own
    # groupuinames.xml of a template folder).
    names = office.file(f"{TEMPLATES}/groupuinames.xml").content_string
    assert (
        f'groupuinames:name="{MINISTRY}" groupuinames:default-ui-name="{MINISTRY_NAME}"'
        in names.replace("&#39;", "'")
    ), names


def test_a_letter_made_from_the_template_carries_the_letterhead(asked: dict) -> None:
    document = asked["document"]
    # A new, untitled document made from the template, not the template itself.
    assert document["url"] == "", document
    assert document["template"].endswith(f"{OWN}/{MINISTRY}/lettre.ott"), document
    header = " ".join(document["header"])
    assert "République Togolaise" in header and MINISTRY_NAME in header, header
    assert f"Travail {DASH} Liberté {DASH} Patrie" in header, header
    body = "\n".join(document["body"])
    assert "Lomé, le" in body and f"/{MINISTRY.upper()}" in body, body


def test_the_agent_cannot_write_into_the_templates(office: Host, asked: dict) -> None:
    # LibreOffice, run as him, cannot save a template there.
    assert asked["stored"] is None, f"LibreOffice run as {UID} wrote {asked['stored']}"
    # Nor can he, by hand, add, replace or remove one.
    for command in (
        f"touch {TEMPLATES}/{MINISTRY}/autre.ott",
        f"cp /etc/hostname {TEMPLATES}/{MINISTRY}/lettre.ott",
        f"rm -f {TEMPLATES}/{MINISTRY}/lettre.ott",
        f"touch {TEMPLATES}/groupuinames.xml",
        "touch /etc/libreoffice/registry/bureau-modeles.xcd",
        # Nor put another ministry's folder into his own list.
        f"ln -s {TEMPLATES}/msh {OWN}/msh",
        f"rm -f {OWN}/{MINISTRY}",
    ):
        attempt = office.run("cd /tmp && runuser -u %s -- sh -c %s", UID, command)
        assert attempt.rc != 0 and "Permission denied" in attempt.stderr, (command, attempt)
    for path in (
        TEMPLATES, f"{TEMPLATES}/{MINISTRY}", f"{TEMPLATES}/{MINISTRY}/lettre.ott", OWN
    ):  # fmt: skip
        info = office.file(path)
        assert (info.user, info.group) == ("root", "root") and not info.mode & 0o022, (
            path,
            oct(info.mode),
        )
