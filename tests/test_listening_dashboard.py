"""The curators' listening dashboard in the admin (issue #18): numbers, SVG charts, CSV."""
from __future__ import annotations

import csv
import io
import re

import pytest

from exhibits.analytics.report import median_seconds
from tests.test_listening import fresh_counters  # noqa: F401  (autouse: no beacons queued by other tests)
from tests.visitor_fixtures import *  # noqa: F401,F403

URL = "/admin/exhibits/dailylistening/"


@pytest.fixture
def traffic(museum):
    from exhibits.analytics.demo import generate

    return generate(days=7, seed=3, scale=0.5)


def test_median_of_a_histogram():
    assert median_seconds({}) is None
    assert median_seconds({"3": 1}) == 3
    assert median_seconds({"10": 2, "2": 1, "30": 1}) == 10  # 2, 10, 10, 30 -> lower middle
    assert median_seconds({"1": 5, "100": 4}) == 1


@pytest.mark.django_db
def test_curator_sees_plays_completion_median_and_the_drop_off_curve(curator, museum, traffic):
    from exhibits.models import DailyListening

    rows = DailyListening.objects.filter(exhibit=museum.ready)
    plays, completions = sum(r.plays for r in rows), sum(r.completions for r in rows)
    assert traffic["listens"] > 0 and plays > 0
    response = curator.get(URL, {"days": 7, "exhibit": museum.ready.code})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= 3  # plays over time, a sparkline per exhibit, the drop-off curve
    assert 'aria-label="各展厅每日播放次数"' in html and "青铜器展厅（" in html and "陶瓷展厅（" in html
    assert f"{museum.ready.code} {museum.ready.title} · {plays} 次播放" in html
    row = re.search(rf"<tr><td>{museum.ready.code}</td>.*?</tr>", html, re.S)[0]
    assert f'<td class="num">{plays}</td>' in row and f"{round(100 * completions / plays)}%" in row and " 秒" in row
    # The first sentence is reached by every listener; the share never rises along the script.
    shares = [int(s) for s in re.findall(r'text-anchor="end">(\d+)%</text>', html.split('id="dropoff"')[1])]
    assert len(shares) == len(museum.rendition.timings) and shares[0] == 100 and shares == sorted(shares, reverse=True)
    assert 'fill="#b3261e"' in html  # the steepest fall is marked


@pytest.mark.django_db
def test_csv_exports(curator, museum, traffic):
    summary = curator.get(URL, {"days": 7, "format": "csv"})
    assert summary["Content-Type"].startswith("text/csv") and "attachment" in summary["Content-Disposition"]
    table = list(csv.reader(io.StringIO(summary.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["编号", "展品", "展厅", "播放次数"]
    assert {int(r[0]) for r in table[1:]} == {museum.ready.code, museum.outdated.code, museum.vase.code}
    daily = list(csv.reader(io.StringIO(curator.get(URL, {"days": 7, "format": "csv-days"}).content.decode("utf-8-sig"))))
    by_code = {}
    for day, code, *_rest, plays in daily[1:]:
        by_code[int(code)] = by_code.get(int(code), 0) + int(plays)
    assert by_code == {int(r[0]): int(r[3]) for r in table[1:]}
    curve = curator.get(URL, {"days": 7, "exhibit": museum.ready.code, "format": "csv-dropoff"})
    lines = list(csv.reader(io.StringIO(curve.content.decode("utf-8-sig"))))
    assert lines[0] == ["句序", "句子", "到达人次", "播放次数", "到达比例"]
    assert len(lines) - 1 == len(museum.rendition.timings) and lines[1][1].startswith("这件青铜鼎")


@pytest.mark.django_db
def test_gallery_filter_and_empty_period(curator, museum, traffic):
    html = curator.get(URL, {"days": 7, "gallery": museum.ceramics.pk}).content.decode()
    assert "陶瓷展厅（" in html and "青铜器展厅（" not in html
    from exhibits.models import DailyListening

    DailyListening.objects.all().delete()
    html = curator.get(URL).content.decode()
    assert "这段时间没有收听记录" in html


@pytest.mark.django_db
def test_only_staff_with_the_permission_see_it(client, museum, django_user_model):
    assert client.get(URL).status_code == 302  # to the login page
    nobody = django_user_model.objects.create_user("temp", password="pw", is_staff=True)
    client.force_login(nobody)
    assert client.get(URL).status_code == 403
