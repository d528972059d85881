"""Museum text normalisation, table-driven: input → exact spoken form."""
import pytest

from synthesis.normalize import normalize, read_digits, read_number

CASES = [
    # years: 4 digits digit by digit, shorter ones as numbers
    ("1998年", "一九九八年"),
    ("2000年", "二零零零年"),
    ("1949年以后", "一九四九年以后"),
    ("1949年以来", "一九四九年以来"),
    ("约1900年", "约一九零零年"),
    ("221年", "二百二十一年"),
    ("公元618年", "公元六百一十八年"),
    ("公元1368年", "公元一三六八年"),
    ("公元前221年", "公元前二百二十一年"),
    ("公元2年", "公元二年"),
    # BCE years are quantities
    ("公元前2070年", "公元前两千零七十年"),
    ("公元前1046年", "公元前一千零四十六年"),
    # durations
    ("2年", "两年"),
    ("3年", "三年"),
    ("距今5000年", "距今五千年"),
    ("5000年前", "五千年前"),
    ("1949年前后", "一九四九年前后"),
    ("2000多年", "两千多年"),
    ("3000余年", "三千余年"),
    ("长达1000年之久", "长达一千年之久"),
    ("1000年来", "一千年来"),
    # decades and centuries
    ("80年代", "八十年代"),
    ("1980年代", "一九八零年代"),
    ("18世纪", "十八世纪"),
    ("2世纪", "二世纪"),
    ("18—19世纪", "十八至十九世纪"),
    ("3-5世纪", "三至五世纪"),
    # dates
    ("1949年10月1日", "一九四九年十月一日"),
    ("2月", "二月"),
    ("10月", "十月"),
    ("3-5月", "三至五月"),
    ("5日", "五日"),
    ("2021-10-01", "二零二一年十月一日"),
    ("1949/10/1", "一九四九年十月一日"),
    # times
    ("14:30", "十四点三十分"),
    ("9:05", "九点零五分"),
    ("14：30", "十四点三十分"),
    ("2:00", "两点"),
    ("08:00开馆", "八点开馆"),
    # year ranges
    ("618—907年", "六百一十八年至九百零七年"),
    ("618-907年", "六百一十八年至九百零七年"),
    ("618~907年", "六百一十八年至九百零七年"),
    ("618～907年", "六百一十八年至九百零七年"),
    ("618——907年", "六百一十八年至九百零七年"),
    ("618至907年", "六百一十八年至九百零七年"),
    ("1368—1644年", "一三六八年至一六四四年"),
    ("公元前475—前221年", "公元前四百七十五年至前二百二十一年"),
    ("公元前475—221年", "公元前四百七十五年至二百二十一年"),
    ("公元前2070—前1600年", "公元前两千零七十年至前一千六百年"),
    ("3—5年", "三至五年"),
    ("距今3000—5000年", "距今三千年至五千年"),
    # decimals, units
    ("3.5米", "三点五米"),
    ("0.05米", "零点零五米"),
    ("5m", "五米"),
    ("20cm", "二十厘米"),
    ("20 cm", "二十厘米"),
    ("5mm", "五毫米"),
    ("3km", "三公里"),
    ("3kg", "三公斤"),
    ("12公斤", "十二公斤"),
    ("500g", "五百克"),
    ("2吨", "两吨"),
    ("100平方米", "一百平方米"),
    ("50㎡", "五十平方米"),
    ("30m²", "三十平方米"),
    ("30℃", "三十摄氏度"),
    ("3~5cm", "三至五厘米"),
    ("3.5~4.5米", "三点五至四点五米"),
    ("2 meters", "二 meters"),  # a word, not the unit m
    # percentages
    ("35%", "百分之三十五"),
    ("0.5%", "百分之零点五"),
    ("35％", "百分之三十五"),
    ("5‰", "千分之五"),
    # ordinals
    ("第3展厅", "第三展厅"),
    ("第2", "第二"),
    ("第12号", "第十二号"),
    # thousands separators, money
    ("12,000件", "一万二千件"),
    ("1,234,567人", "一百二十三万四千五百六十七人"),
    ("¥1,200", "一千二百元"),
    ("￥1200", "一千二百元"),
    ("1200元", "一千二百元"),
    ("$100", "一百美元"),
    # plain numbers and 两
    ("2件", "两件"),
    ("2米", "两米"),
    ("2个", "两个"),
    ("2.5米", "二点五米"),
    ("2000件", "两千件"),
    ("20000件", "两万件"),
    ("200件", "两百件"),  # a leading 2 before 百 is 两, like 两千/两万 (was 二百)
    ("2", "二"),
    ("3个", "三个"),
    ("101", "一百零一"),
    ("007号", "零零七号"),
    ("2-3件", "二至三件"),
    # full width → half width first
    ("１９９８年", "一九九八年"),
    ("ＡＢＣ", "ABC"),
    ("第３展厅", "第三展厅"),
    # untouched: Chinese numerals, punctuation, letters
    ("一九九八年", "一九九八年"),
    ("你好，世界。", "你好，世界。"),
    ("M1号墓", "M一号墓"),
    ("", ""),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_punctuation_survives_in_context():
    assert normalize("公元前221年，秦统一六国；1949年10月1日！") == "公元前二百二十一年，秦统一六国；一九四九年十月一日！"


def test_impossible_date_is_still_spoken_as_digits():
    # Month 13: not a date and not a range (a chain of three numbers), so a code.
    assert normalize("2021-13-01") == "二零二一一三零一"


def test_helpers():
    assert read_digits("1908") == "一九零八"
    assert read_number("2000") == "两千"
    assert read_number("2000", liang=False) == "二千"
    assert read_number("200") == "两百"
    assert read_number("1200") == "一千二百"
    assert read_number("-3.5") == "负三点五"
    assert read_number("1234567890123") == "一二三四五六七八九零一二三"  # too long: a code


def test_integer_reading_matches_cn2an():
    import random

    import cn2an
    from synthesis.normalize.numbers import read_integer
    rng = random.Random(7)
    numbers = [str(n) for n in range(0, 12001)] + [
        str(rng.randrange(10 ** rng.randint(1, 12))) for _ in range(3000)] + ["100000005", "10000500", "100010"]
    assert [n for n in numbers if read_integer(n) != cn2an.an2cn(n)] == []
    assert read_integer("600007738") == "六亿零七千七百三十八"  # cn2an: 六亿七千七百三十八, no 零
