"""The control page (--web): its access rules on a real server, and a real browser steering a real show."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from lavlive.errors import LavliveError
from lavlive.presets import load_preset
from lavlive.stage import StageLink
from lavlive.web.access import Access
from lavlive.web.server import MAX_RATE, WebServer

sys.path.insert(0, str(Path(__file__).parent))
from test_kiosk import _kiosk, _stop, _wait  # noqa: E402
from test_play import media  # noqa: E402,F401  (the fixture, shared)


@pytest.fixture
def server(request):
    """A control page for a show's stage (no show behind it), on the host the test's marker gives."""
    host = getattr(request, "param", "127.0.0.1")
    stage = StageLink(load_preset(None))
    web = WebServer(stage, host, 0, token="s3cret-token" if host != "127.0.0.1" else None).start()
    yield web
    web.close()
    stage.close()


def _talk(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 30))


async def _messages(ws, until, limit=50):
    """Messages from a page's socket until `until(message)` holds; the one that did."""
    for _ in range(limit):
        message = await ws.receive()
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"socket ended: {message}")
        data = json.loads(message.data)
        if until(data):
            return data
    raise AssertionError("the awaited message never came")


def test_a_local_page_opens_without_a_token_but_not_for_another_site(server):
    """On 127.0.0.1 the page needs no token, but a foreign Host (DNS rebinding) or a WebSocket from another
    site's page (any tab in the VJ's browser) is refused."""
    base = f"http://127.0.0.1:{server.port}"

    async def run():
        async with aiohttp.ClientSession() as client:
            page = await client.get(base + "/")
            assert page.status == 200 and "lavlive" in await page.text()
            assert "default-src 'self'" in page.headers["Content-Security-Policy"]
            assert (await client.get(base + "/", headers={"Host": "attacker.example"})).status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect(base + "/ws", origin="http://attacker.example")
            assert refused.value.status == 403
            ws = await client.ws_connect(base + "/ws", origin=base)
            hello = await _messages(ws, lambda m: m["type"] == "hello")
            names = {p["name"]: p for p in hello["parameters"]}
            assert names["truncation"]["min"] == 0 and names["truncation"]["max"] == 2
            assert "model" not in names and "default" in hello["presets"]
            await ws.close()

    _talk(run())


@pytest.mark.parametrize("server", ["0.0.0.0"], indirect=True)
def test_off_loopback_the_page_and_every_message_need_the_token(server):
    """Listening on all addresses: no token or a wrong one gets 403; the right one is traded for an HttpOnly
    cookie and a redirect that drops it from the address; a message with a wrong token closes the page and
    changes nothing."""
    base = f"http://127.0.0.1:{server.port}"
    assert not server.access.local and server.access.token == "s3cret-token"

    async def run():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:  # IP hosts too
            for url in ("/", "/?token=wrong", "/static/app.js"):
                assert (await client.get(base + url)).status in (403, 404), url
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await client.ws_connect(base + "/ws", origin=base)
            traded = await client.get(base + "/?token=s3cret-token", allow_redirects=False)
            assert traded.status == 303 and traded.headers["Location"] == "/"
            assert "HttpOnly" in traded.headers["Set-Cookie"] and "SameSite=Strict" in traded.headers["Set-Cookie"]
            page = await client.get(base + "/")  # the cookie now
            assert page.status == 200 and 'content="s3cret-token"' in await page.text()
            ws = await client.ws_connect(base + "/ws", origin=base)
            await _messages(ws, lambda m: m["type"] == "state")
            await ws.send_json({"token": "s3cret-token", "set": {"truncation": 0.25}})
            await _messages(ws, lambda m: m["type"] == "state" and m["state"]["truncation"] == 0.25)
            await ws.send_json({"token": "wrong", "set": {"truncation": 1.5}})
            closed = await ws.receive()
            assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 1008

    _talk(run())
    assert server.stage.controls.state()["truncation"] == 0.25


def test_pages_stay_in_sync_with_each_other_and_with_osc_and_refuse_bad_values(server):
    """A change from one page reaches the other; one from another input (OSC, MIDI: the same controls) too; an
    out-of-range value or unknown name is refused with a message to that page and changes nothing; a flood of
    messages is cut at MAX_RATE a second and the page still works after."""
    base = f"http://127.0.0.1:{server.port}"
    controls = server.stage.controls

    async def run():
        async with aiohttp.ClientSession() as client:
            a = await client.ws_connect(base + "/ws", origin=base)
            b = await client.ws_connect(base + "/ws", origin=base)
            for ws in (a, b):
                await _messages(ws, lambda m: m["type"] == "state")
            await a.send_json({"set": {"y": 3.5}})
            await _messages(b, lambda m: m["type"] == "state" and m["state"]["y"] == 3.5)
            threading.Thread(target=controls.set, args=("smoothing/fine", 7.0)).start()  # as OSC's thread would
            await _messages(a, lambda m: m["type"] == "state" and m["state"]["smoothing/fine"] == 7.0)
            for bad in ({"y": 11}, {"y": "loud"}, {"nonsense": 1}, {"y": float("nan")}):
                await a.send_str(json.dumps({"set": bad}))
                refused = await _messages(a, lambda m: m["type"] == "refused")
                assert "stage:" in refused["message"], refused
            await a.send_str("[1, 2")
            await _messages(a, lambda m: m["type"] == "refused")
            for k in range(5 * MAX_RATE):
                await a.send_json({"set": {"c": (k % 100) / 100}})
            flood = await _messages(a, lambda m: m["type"] == "refused", limit=500)
            assert "a second" in flood["message"]
            await asyncio.sleep(1.1)
            await a.send_json({"set": {"c": 1.25}})
            await _messages(b, lambda m: m["type"] == "state" and m["state"]["c"] == 1.25, limit=500)

    _talk(run())
    state = controls.state()
    assert state["y"] == 3.5 and state["c"] == 1.25


def test_a_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stage = StageLink(load_preset(None))
        with pytest.raises(LavliveError, match=r"--web 127.0.0.1:\d+: cannot listen"):
            WebServer(stage, "127.0.0.1", taken.getsockname()[1]).start()
        stage.close()


def test_access_rules():
    local = Access("127.0.0.1", 8080)
    assert local.token is None and local.token_ok(None)
    assert local.host_ok("127.0.0.1:8080") and local.host_ok("localhost:8080") and local.host_ok("[::1]:8080")
    assert not local.host_ok("lavlive.example:8080") and not local.host_ok(None)
    assert local.origin_ok("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert not local.origin_ok("http://evil.example", "127.0.0.1:8080")
    lan = Access("0.0.0.0", 8080)
    assert len(lan.token) >= 40 and lan.token in lan.page_address()
    assert not lan.token_ok(None) and not lan.token_ok("x") and not lan.token_ok("é") and lan.token_ok(lan.token)
    assert not lan.origin_ok(None, "192.168.1.5:8080")  # a non-browser client off loopback: token and Origin
    assert lan.page_address() == f"http://0.0.0.0:8080/?token={lan.token}"


# -- a real show, steered from a real browser ---------------------------------------------------


def _screen(display: str) -> np.ndarray:
    from PIL import ImageGrab

    return np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB")).astype(np.int16)


def _moving(display: str, wait: float = 0.4) -> int:
    """How many pixels of the X screen change over `wait` seconds (by more than a rounding step)."""
    a = _screen(display)
    time.sleep(wait)
    return int((np.abs(_screen(display) - a).max(axis=2) > 2).sum())


def test_a_browser_steers_a_running_show_and_reads_its_state(xvfb, pulse, media, chromium, tmp_path):
    """`lavlive play --web`: the page lists the parameters, shows live stats and the playlist; dragging the
    truncation fader to 0 stills the picture on the real screen; a change over OSC moves the page's fader; a
    preset chosen on the page is switched to by the show; an out-of-range seed is refused on the page while
    the show goes on; next plays the next track."""
    from pythonosc.udp_client import SimpleUDPClient
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    (tmp_path / "plain.toml").write_text('name = "plain"\n')  # no routes: nothing moves the picture but the music
    tracks = [str(media / "music12.wav"), str(media / "music12.wav")]
    said = tmp_path / "said.txt"
    show = _kiosk([*tracks, "--model", str(media / "tiny64.pt"), "--preset", str(tmp_path / "plain.toml"),
                   "--web", "127.0.0.1:0", "--osc", "127.0.0.1:0", "--switch-fade", "0", "--size", "256x256"],
                  said)
    try:
        lines = lambda: said.read_text().splitlines()  # noqa: E731
        address = _wait(lambda: [x.split(" at ")[-1] for x in lines() if "control page at" in x], "the address")[0]
        osc = int(_wait(lambda: [x for x in lines() if "OSC: listening on" in x], "OSC")[0].split(":")[-1].split()[0])
        _wait(lambda: any("track 1/2" in x for x in lines()), "the first track")
        chromium.get(address)
        truncation = _wait(lambda: chromium.find_elements(By.CSS_SELECTOR, 'input[data-name="truncation"]'),
                           "the truncation fader", 30)[0]
        fps = lambda: chromium.find_elements(By.ID, "stat-fps")  # noqa: E731
        _wait(lambda: fps() and float(fps()[0].text) > 5, "the stats: frames a second", 15)
        assert "music12" in chromium.find_element(By.CSS_SELECTOR, "#playlist li.current").text
        assert _moving(xvfb) > 200, "the picture should move with the music"

        truncation.send_keys(Keys.HOME)  # psi 0: every frame is the average image
        _wait(lambda: _moving(xvfb) == 0, "the picture stills", 15)
        assert float(truncation.get_attribute("value")) == 0

        SimpleUDPClient("127.0.0.1", osc).send_message("/lavlive/y", 4.5)
        y = chromium.find_element(By.CSS_SELECTOR, 'input[data-name="y"]')
        _wait(lambda: float(y.get_attribute("value")) == 4.5, "OSC's y on the page", 10)

        Select(chromium.find_element(By.ID, "preset")).select_by_value("default")
        _wait(lambda: any("preset: default" in x for x in lines()), "the show switches presets", 15)
        _wait(lambda: "kick-bend" in chromium.find_element(By.ID, "routes").text, "its routes on the page",
              10)

        seed = chromium.find_element(By.ID, "seed")
        seed.send_keys(Keys.CONTROL, "a")
        seed.send_keys("-5", Keys.ENTER)
        message = chromium.find_element(By.ID, "message")
        _wait(lambda: "out of range" in message.text, "the refusal on the page", 10)

        chromium.find_element(By.CSS_SELECTOR, 'button[data-trigger="next"]').click()
        _wait(lambda: any("track 2/2" in x for x in lines()), "the next track", 15)
        _wait(lambda: chromium.find_elements(By.CSS_SELECTOR, "#playlist li:nth-child(2).current"),
              "the playlist follows", 10)
        assert int(chromium.find_element(By.ID, "preview").get_attribute("data-frames") or 0) > 0
    finally:
        _stop(show)
    assert show.returncode in (0, 143), said.read_text()


def test_presets_and_seeds_come_with_thumbnails_from_the_loaded_model(tiny_generator, chromium):
    """The page shows a picture of each preset and of each seed offered, drawn from the show's model in the
    background; clicking a seed's picture sets that seed."""
    from selenium.webdriver.common.by import By

    from lavlive.pipeline import Model, ModelSettings, Synthesizer

    stage = StageLink(load_preset(None))
    web = WebServer(stage, "127.0.0.1", 0).start()
    model = Model(tiny_generator, Synthesizer(tiny_generator))
    web.draw_looks(lambda: model, ModelSettings())
    try:
        chromium.get(f"http://127.0.0.1:{web.port}/")
        pictured = lambda css: [img for img in chromium.find_elements(By.CSS_SELECTOR, css)  # noqa: E731
                                if (img.get_attribute("src") or "").startswith("data:image/jpeg")]
        _wait(lambda: len(pictured("#preset-tiles img")) >= 3, "preset thumbnails", 60)
        seeds = _wait(lambda: len(pictured("#seed-tiles img")) == len(web.thumbnails.seeds) and
                      pictured("#seed-tiles img"), "seed thumbnails", 60)
        sizes = {chromium.execute_script("return arguments[0].naturalWidth", img) for img in seeds}
        assert sizes == {tiny_generator.img_resolution}  # a picture of the model's, at most 128 wide
        sources = {img.get_attribute("src") for img in seeds}
        assert len(sources) == len(seeds)  # each seed looks different
        chosen = web.thumbnails.seeds[2]
        seeds[2].click()
        _wait(lambda: stage.controls.state()["seed"] == chosen, "the seed clicked is set", 10)
    finally:
        web.close()
        stage.close()
