"""The registry of the demo community (人、房、车): about 3,000 residents in about 1,100
households over the 177 houses of Hongqi, with rentals, house details, vehicles and care tags.

Two steps:

* ``plan_registry_demo(seed=..., houses=...)`` is pure: from a seed and the layout of the houses
  (their units) it decides every household, person, number, plate and tag. Same seed, same
  layout: same plan. People are synthetic (common surnames and given names of their generation;
  well-known names are refused), ID numbers are fake but pass GB 11643's check digit, mobile
  numbers are in ``1xx-0833-xxxx`` blocks (0833 is Leshan's area code, never a real prefix
  block of that form for these people) and landlines are ``0833-2xxxxxx``.
* ``build_registry_demo(seed=..., progress=...)`` writes the plan through the registry services
  (``registry.services``), one transaction per courtyard. It is idempotent: a household whose
  code exists is left alone, a person whose ID number is registered is skipped, a house with
  details, a unit with a rental and a plate already known are not touched again; a second run
  writes nothing at all (not even an audit row).

Identities (names, ID numbers, birth dates, phones, plates, who lives where) depend only on the
seed. Birth dates are ages on ``ANCHOR`` (a fixed day), so ID numbers do not change from one day
to the next. Dates of events (moving in for migrants, registration expiries, rental periods,
inspections) are offsets from the day the demo is built, so "expires within 30 days" and
"not inspected this year" always have something to show.

Proportions, as an old neighbourhood of self-built houses has them: about 40 % migrants and
renters, about a quarter of the people over 60, about 4 % elderly people living alone,
left-behind and migrant children, disability, low income (低保), veterans, serious illness.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q

from sanan.core import clock
from sanan.places.models import Place, PlaceKind
from sanan.registry.models import (
    Gender,
    Household,
    HouseProfile,
    HouseUse,
    Relation,
    Rental,
    RentalState,
    ResidenceType,
    Resident,
    ResidentStatus,
    ResidentTag,
    StandardCareTag,
    Vehicle,
    VehicleKind,
)
from sanan.registry.services import (
    ResidentAlreadyRegistered,
    care_tags_ensure_standard,
    house_profile_set,
    household_create,
    id_number_index,
    rental_create,
    rental_inspect,
    resident_register,
    vehicle_register,
)
from sanan.registry.testing import fake_id_number

ACTOR = "demo"
AREA_CODE = "511102-tj-nyq-hq"  # 红旗小区, built by core.demo
ANCHOR = dt.date(2025, 1, 1)  # ages are ages on this day: ID numbers never drift

# --- Names ------------------------------------------------------------------------------------

# Common surnames with rough weights for Sichuan (何, 罗, 邓 and 曾 are more frequent there).
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.0), ("李", 7.4), ("张", 6.8), ("刘", 5.4), ("陈", 4.6), ("杨", 3.4), ("黄", 2.2),
    ("赵", 2.0), ("吴", 2.0), ("周", 1.9), ("徐", 1.3), ("孙", 1.4), ("马", 1.1), ("朱", 1.2),
    ("胡", 1.4), ("郭", 1.1), ("何", 1.6), ("罗", 1.9), ("高", 1.1), ("林", 0.9), ("邓", 1.6),
    ("谢", 1.0), ("唐", 1.0), ("曾", 1.0), ("彭", 0.9), ("冯", 0.7), ("蒋", 0.8), ("袁", 0.7),
    ("苏", 0.5), ("任", 0.6), ("廖", 0.6), ("钟", 0.5), ("宋", 0.6), ("郑", 0.8), ("魏", 0.5),
    ("杜", 0.6), ("余", 0.7), ("肖", 0.6), ("田", 0.5), ("范", 0.4), ("雷", 0.5), ("文", 0.4),
    ("付", 0.5), ("吕", 0.3), ("熊", 0.5), ("汪", 0.3), ("程", 0.4), ("侯", 0.3), ("牟", 0.2),
    ("税", 0.1),
)  # fmt: skip


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Given names by generation (year of birth up to the key) and gender.
GIVEN: dict[tuple[int, str], tuple[str, ...]] = {
    (1955, Gender.MALE): _words(
        "建国 国华 德明 志强 永福 树林 学文 光明 长发 正清 德贵 福林 国庆 家林 明华 文斌 兴发 "
        "世荣 崇德 启明 炳坤 绍华 昌明 克勤 金山 德全 玉成 树清 光华 少云"
    ),
    (1955, Gender.FEMALE): _words(
        "秀英 桂英 玉兰 淑芬 素珍 凤英 桂兰 秀兰 淑华 翠华 玉珍 琼华 德芬 素芳 秀珍 桂芳 玉芳 "
        "惠珍 春兰 秀芝 淑贞 兰英 菊芳 会芳 素清 泽芬 玉琼 碧华 绍芬 德秀"
    ),
    (1975, Gender.MALE): _words(
        "建华 卫东 红军 志明 国强 建军 伟 勇 军 平 斌 波 刚 强 林 明 华 东 文 建平 晓东 志刚 "
        "德勇 小平 向东 卫国 大勇 建明 永刚 成林"
    ),
    (1975, Gender.FEMALE): _words(
        "红 丽 霞 燕 敏 萍 芳 英 琴 梅 红梅 丽华 晓梅 建英 小琴 春梅 美华 秀琼 丽萍 玉梅 "
        "素琼 小红 晓红 学英 德琼 利 蓉 琼 永红 春燕"
    ),
    (1995, Gender.MALE): _words(
        "磊 鹏 杰 浩 亮 超 俊 洋 军 斌 勇 帅 飞 宇 伟 凯 龙 川 俊杰 海涛 志鹏 晓峰 小龙 "
        "建波 金龙 鑫 江 尧 力 毅"
    ),
    (1995, Gender.FEMALE): _words(
        "婷 静 丽 娟 敏 倩 雪 琳 燕 霞 佳 欣 瑶 蓉 丹 莉 艳 璐 晓燕 雪梅 丽娟 婷婷 思思 "
        "小燕 春花 玲 露 芸 洁 倩倩"
    ),
    (2009, Gender.MALE): _words(
        "浩 宇 鑫 博 俊 晨 睿 浩然 宇航 子豪 俊宇 天宇 嘉豪 鑫宇 宇杰 志豪 梓豪 文博 "
        "俊豪 家乐 一帆 明轩 锐 星宇"
    ),
    (2009, Gender.FEMALE): _words(
        "雨 欣 琪 悦 怡 萱 雯 思雨 欣怡 雨婷 佳怡 梦瑶 诗琪 雨欣 佳琪 梦婷 思佳 雅婷 "
        "欣雨 心怡 可欣 晓雪 紫琪 馨月"
    ),
    (2100, Gender.MALE): _words(
        "子轩 浩宇 宇轩 沐阳 梓睿 一鸣 俊熙 子墨 皓轩 奕辰 瑞霖 铭泽 思源 锦程 梓航 "
        "宸睿 子谦 俊哲 乐天 煜城 嘉树 安然 承泽 书恒"
    ),
    (2100, Gender.FEMALE): _words(
        "梓涵 一诺 雨桐 诗涵 可馨 语嫣 若曦 子涵 紫萱 梦琪 雨萱 欣妍 沐晴 芊芊 "
        "安琪 语桐 思彤 悦宁 梓萌 芷若 锦书 星辰 清欢 予安"
    ),
}

# Characters that make two-character given names of each generation (first, second).
GIVEN_PARTS: dict[tuple[int, str], tuple[str, str]] = {
    (1955, Gender.MALE): ("德国建志永树学光正福家明文兴世绍昌克玉少长启",
                          "明华强福林文清贵发荣全成山云才元良生友富"),
    (1955, Gender.FEMALE): ("秀桂玉淑素凤翠琼德惠春兰菊会碧泽", "英兰芬珍华芳清琼芝贞秀蓉香莲仙群"),
    (1975, Gender.MALE): ("建卫红志国晓德向永大成小文新明", "华东军明强平刚林勇国波峰伟斌涛"),
    (1975, Gender.FEMALE): ("红丽晓建小春美秀玉素学永德英利", "梅华萍琴英燕霞红琼芳蓉丽君敏莉"),
    (1995, Gender.MALE): ("俊海志晓小建金家宇浩明文鹏伟成", "杰涛鹏峰龙波飞强宇超军磊林辉洋"),
    (1995, Gender.FEMALE): ("晓雪丽婷思小春佳欣静雨美玉慧秋", "燕梅娟婷倩琳丹霞蓉芳洁敏玲艳"),
    (2009, Gender.MALE): ("宇子俊天嘉鑫志梓文家明一浩星锦", "豪杰轩航宇博帆乐辰阳鑫睿晨然"),
    (2009, Gender.FEMALE): ("雨欣佳梦诗思雅心可晓紫馨婉语芷", "婷怡琪瑶雨佳萱琳月欣涵雪彤悦妍"),
    (2100, Gender.MALE): ("子浩宇沐梓一俊皓奕瑞铭思锦宸承书乐煜嘉安",
                          "轩宇阳睿鸣熙墨辰霖泽源程航谦哲天城树然恒"),
    (2100, Gender.FEMALE): ("梓一雨诗可语若子紫梦欣沐芊安思悦芷锦星予",
                            "涵诺桐馨嫣曦萱琪妍晴宁彤萌书安然溪瑶悦"),
}  # fmt: skip

# Names of well-known people (and two of the demo logins): a person of the demo never has one.
KNOWN_NAMES = frozenset(
    _words(
        "王菲 李娜 刘翔 刘德华 张学友 周杰伦 邓小平 杨利伟 姚明 李宁 张杰 刘涛 李晨 杨洋 王凯 "
        "胡歌 黄磊 孙俪 赵薇 陈坤 李冰 马云 李白 杜甫 郭靖 黄蓉 杨过 周迅 林俊杰 刘备 曹操 孙坚 "
        "王秀英 李建国 张桂芳 陈静 杨波 黄丽 赵明 周红 孙伟 王伟 张伟 李强 王刚 李平 张勇 刘洋 "
        "王勇 李军 陈明 刘波 张丽 王静 李静 张敏 王磊 刘强 李明 王平 赵丽 宋江 林冲 武松"
    )
)

# --- Where people come from (division codes of first registration) --------------------------

LESHAN_SHIZHONG = "511102"
LESHAN_OTHER = ("511111", "511112", "511113", "511123", "511124", "511126", "511129",
                "511132", "511133", "511181")  # fmt: skip
SICHUAN_OTHER = ("510104", "510106", "510107", "510112", "510302", "510304", "511002",
                 "511011", "511302", "511304", "511402", "511421", "511502", "511524",
                 "511602", "513401", "512002", "510603")  # fmt: skip
OTHER_PROVINCES = ("500101", "500102", "500103", "500112", "530102", "530111", "520102",
                   "520111", "420102", "420106", "430102", "430111", "410102", "410105",
                   "610102", "610113", "620102", "450102", "360102", "370102")  # fmt: skip
# Plate prefix of a city: Sichuan's cities by the first four digits, other provinces by two.
SICHUAN_PLATES = {"5101": "川A", "5103": "川C", "5106": "川F", "5110": "川K", "5111": "川L",
                  "5113": "川R", "5114": "川Z", "5115": "川Q", "5116": "川X", "5120": "川M",
                  "5134": "川W"}  # fmt: skip
PROVINCE_PLATES = {"50": "渝", "53": "云", "52": "贵", "42": "鄂", "43": "湘", "41": "豫",
                   "61": "陕", "62": "甘", "45": "桂", "36": "赣", "37": "鲁"}  # fmt: skip

MOBILE_PREFIXES = ("1370833", "1390833", "1500833", "1520833", "1580833", "1820833", "1870833",
                   "1890833", "1330833", "1770833")  # fmt: skip
RESERVED_LANDLINES = frozenset({"0833-2123456"})  # the demo office's help line (Makefile)

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O

# --- Work and school --------------------------------------------------------------------------

WORK_REGISTERED = (
    "个体经营（小吃店）", "个体经营（五金店）", "个体经营（茶馆）", "医院护士", "中学教师",
    "小学教师", "公交车司机", "出租车司机", "超市店员", "社区工作人员", "企业职工", "银行职员",
    "装修工人", "保安", "快递员", "灵活就业", "待业", "家务", "市场摊贩", "物流公司职员",
    "餐馆厨师", "机关事业单位职工", "电工", "理发店店主",
)  # fmt: skip
WORK_MIGRANT = (
    "建筑工人", "外卖骑手", "快递员", "餐馆服务员", "美发店员", "网约车司机", "装修工人",
    "工厂工人", "个体经营（水果摊）", "个体经营（麻辣烫）", "家政服务员", "保安", "超市理货员",
    "灵活就业", "电动车维修", "服装店店员", "酒店服务员", "物流搬运工",
)  # fmt: skip

CAR_MAKES = ("大众朗逸", "大众宝来", "丰田卡罗拉", "本田飞度", "日产轩逸", "别克英朗",
             "长安逸动", "吉利帝豪", "哈弗H6", "五菱宏光", "宝骏510", "奇瑞瑞虎", "雪佛兰科沃兹",
             "比亚迪秦")  # fmt: skip
NEV_MAKES = ("比亚迪海豚", "比亚迪秦PLUS", "五菱宏光MINI EV", "特斯拉Model 3", "埃安S",
             "零跑T03", "比亚迪元PLUS", "长安Lumin")  # fmt: skip
VAN_MAKES = ("五菱之光", "长安之星", "东风小康", "福田小卡")  # fmt: skip
MOTO_MAKES = ("嘉陵摩托", "宗申摩托", "豪爵摩托", "力帆摩托")  # fmt: skip
COLOURS = ("白色", "白色", "黑色", "银色", "灰色", "红色", "蓝色")

# --- Household kinds: how many of each ------------------------------------------------------

REGISTERED_KINDS = {
    "elderly_alone": 120,  # one person over 70: the elderly living alone (独居老人)
    "elderly_couple": 120,
    "left_behind": 50,  # grandparents with grandchildren whose parents work elsewhere
    "three_generations": 125,
    "core_family": 165,
    "empty_nest": 75,
    "single_adult": 30,
}
RENTING_KINDS = {
    "worker": 150,  # one migrant worker
    "couple": 90,
    "family": 190,  # with migrant children (随迁儿童)
    "shared": 50,  # two or three co-workers sharing a room
    "family_grandparent": 20,  # a grandparent came along to look after the child
}
OWNER_KINDS = ("elderly_couple", "three_generations", "elderly_alone", "empty_nest",
               "left_behind", "core_family")  # fmt: skip
LOW_INCOME_HOUSEHOLDS = 18  # 低保 households (every member tagged)


# --- The plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseLayout:
    """A house of the demo community and its units (codes as ``core.demo`` builds them)."""

    code: str
    name: str
    courtyard: str
    units: tuple[str, ...]


@dataclass
class PersonPlan:
    name: str
    gender: str
    birth_date: dt.date
    id_number: str
    relation: str
    residence_type: str
    work_or_school: str = ""
    phone: str = ""
    phone2: str = ""
    moved_in_on: dt.date | None = None  # registered people: a fixed date
    moved_in_days_ago: int | None = None  # migrants and renters: relative to the build day
    expires_in_days: int | None = None  # residence registration (居住证), migrants only
    tags: list[str] = field(default_factory=list)
    region: str = LESHAN_SHIZHONG

    @property
    def age(self) -> int:
        """Age on ``ANCHOR``."""
        b = self.birth_date
        return ANCHOR.year - b.year - ((ANCHOR.month, ANCHOR.day) < (b.month, b.day))


@dataclass
class HouseholdPlan:
    code: str
    unit: str
    kind: str
    renting: bool
    members: list[PersonPlan] = field(default_factory=list)


@dataclass
class HousePlan:
    code: str
    house_number: str
    floors: int
    use: str
    self_built: bool
    owner_household: str | None  # the owner is the head of this household
    owner_name: str  # when the owner does not live here
    note: str = ""


@dataclass
class RentalPlan:
    unit: str
    landlord_household: str | None
    landlord_name: str
    tenant_households: list[str]
    starts_days_ago: int
    ends_in_days: int | None  # negative: ended that many days ago
    state: str
    inspected_days_ago: int | None


@dataclass
class VehiclePlan:
    plate: str
    kind: str
    owner_id_number: str
    parks_at: str  # a place code: the owner's courtyard or house
    description: str


@dataclass
class DemoPlan:
    households: list[HouseholdPlan]
    houses: list[HousePlan]
    rentals: list[RentalPlan]
    vehicles: list[VehiclePlan]
    courtyard_of: dict[str, str]  # house or unit code -> courtyard code

    def people(self) -> Iterable[PersonPlan]:
        for household in self.households:
            yield from household.members


class _Planner:
    def __init__(self, seed: int) -> None:
        # A string seed hashes the same way in every process (not PYTHONHASHSEED-dependent).
        self.rng = random.Random(f"sanan-registry-demo:{seed}")  # noqa: S311 (demo data)
        self.used_ids: set[str] = set()
        self.used_mobiles: set[str] = set()
        self.used_landlines: set[str] = set(RESERVED_LANDLINES)
        self.used_plates: set[str] = set()
        self.used_names: set[str] = set()
        self.surnames = [s for s, _w in SURNAMES]
        self.weights = [w for _s, w in SURNAMES]

    # -- identities

    def surname(self) -> str:
        return self.rng.choices(self.surnames, self.weights)[0]

    def given(self, gender: str, birth: dt.date) -> str:
        """A given name usual for the generation: a common one, or two characters of it."""
        key = next(k for k in GIVEN if k[1] == gender and birth.year <= k[0])
        if self.rng.random() < 0.5:
            return self.rng.choice(GIVEN[key])
        first, second = GIVEN_PARTS[key]
        a, b = self.rng.choice(first), self.rng.choice(second)
        return a + b if a != b else a + b if self.rng.random() < 0.3 else self.rng.choice(second)

    def name(self, surname: str, gender: str, birth: dt.date) -> str:
        """A name of the person's generation; never a well-known one, and seldom one that
        someone else in the community already has."""
        full = ""
        for attempt in range(60):
            full = surname + self.given(gender, birth)
            if full not in KNOWN_NAMES and (full not in self.used_names or attempt >= 30):
                break
        else:
            full = surname + self.given(gender, birth) + self.given(gender, birth)[-1]
        self.used_names.add(full)
        return full

    def birth(self, age: float) -> dt.date:
        """A birth date for someone ``age`` years old on ANCHOR (never after the day before)."""
        days = int(age * 365.25) + self.rng.randrange(365)
        return min(ANCHOR - dt.timedelta(days=days), ANCHOR - dt.timedelta(days=1))

    def id_number(self, region: str, birth: dt.date, gender: str) -> str:
        # Sequences 300-999 only: the small numbers stay free for hand-made test data.
        odd = gender == Gender.MALE
        for _ in range(200):
            sequence = self.rng.randrange(300, 1000)
            if (sequence % 2 == 1) != odd:
                sequence += 1 if sequence < 999 else -1
            number = fake_id_number(birth_date=birth, sequence=sequence, region=region)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number
        raise RuntimeError("no free ID number sequence for this region and day")

    def mobile(self) -> str:
        while True:
            number = f"{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(10_000):04d}"
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number

    def landline(self) -> str:
        while True:
            number = f"0833-2{self.rng.randrange(1_000_000):06d}"
            if number not in self.used_landlines:
                self.used_landlines.add(number)
                return number

    def person(
        self,
        *,
        surname: str,
        gender: str,
        age: float,
        relation: str,
        residence_type: str,
        region: str,
    ) -> PersonPlan:
        birth = self.birth(max(age, 0.0))
        return PersonPlan(
            name=self.name(surname, gender, birth),
            gender=gender,
            birth_date=birth,
            id_number=self.id_number(region, birth, gender),
            relation=relation,
            residence_type=residence_type,
            region=region,
        )

    # -- households

    def other(self, gender: str) -> str:
        return Gender.FEMALE if gender == Gender.MALE else Gender.MALE

    def gender(self, male: float = 0.5) -> str:
        return Gender.MALE if self.rng.random() < male else Gender.FEMALE

    def registered_region(self) -> str:
        return LESHAN_SHIZHONG if self.rng.random() < 0.78 else self.rng.choice(LESHAN_OTHER)

    def household(self, kind: str, renting: bool) -> list[PersonPlan]:
        rng = self.rng
        if renting:
            roll = rng.random()
            rtype = ResidenceType.RENTER if roll < 0.3 else ResidenceType.MIGRANT
            if rtype == ResidenceType.RENTER:
                region = rng.choice(LESHAN_OTHER)
            elif rng.random() < 0.62:
                region = rng.choice(SICHUAN_OTHER)
            else:
                region = rng.choice(OTHER_PROVINCES)
        else:
            rtype, region = ResidenceType.REGISTERED, self.registered_region()
        family = self.surname()
        members: list[PersonPlan] = []

        def add(gender: str, age: float, relation: str, surname: str | None = None,
                where: str | None = None) -> PersonPlan:  # fmt: skip
            p = self.person(
                surname=surname or (family if relation != Relation.SPOUSE else self.surname()),
                gender=gender,
                age=age,
                relation=relation,
                residence_type=rtype,
                region=where or region,
            )
            members.append(p)
            return p

        def children(parent_age: float, count: int, relation: str, *, max_age: float = 40,
                     surname: str | None = None) -> None:  # fmt: skip
            for _ in range(count):
                age = min(max_age, parent_age - rng.uniform(23, 34))
                if age < 0:
                    age = rng.uniform(0, 3)
                add(self.gender(), age, relation, surname=surname)

        if kind == "elderly_alone":
            add(self.gender(0.32), rng.triangular(70, 96, 80), Relation.HEAD)
        elif kind == "elderly_couple":
            head = rng.triangular(62, 92, 70)
            add(Gender.MALE, head, Relation.HEAD)
            add(Gender.FEMALE, max(60, head - rng.uniform(0, 5)), Relation.SPOUSE)
        elif kind == "left_behind":
            head_gender = self.gender(0.45)
            head = rng.uniform(56, 78)
            add(head_gender, head, Relation.HEAD)
            if rng.random() < 0.6:
                add(self.other(head_gender), head + rng.uniform(-4, 4), Relation.SPOUSE)
            for _ in range(1 if rng.random() < 0.6 else 2):
                add(self.gender(), rng.uniform(2, 15.9), Relation.GRANDCHILD)
        elif kind == "three_generations":
            if rng.random() < 0.6:  # the grandparents head the household
                head = rng.uniform(62, 86)
                g = self.gender(0.8)
                add(g, head, Relation.HEAD)
                if rng.random() < 0.8:
                    add(self.other(g), head + rng.uniform(-5, 3), Relation.SPOUSE)
                child_gender = self.gender(0.6)
                child_age = head - rng.uniform(24, 32)
                add(child_gender, child_age, Relation.CHILD)
                in_law = add(self.other(child_gender), child_age + rng.uniform(-4, 4),
                             Relation.CHILD_IN_LAW, surname=self.surname())  # fmt: skip
                # Grandchildren carry their father's surname.
                father = family if child_gender == Gender.MALE else in_law.name[:1]
                children(child_age, 1 if rng.random() < 0.65 else 2, Relation.GRANDCHILD,
                         max_age=24, surname=father)  # fmt: skip
            else:  # a middle-aged couple with their children and a parent
                head = rng.uniform(36, 56)
                add(Gender.MALE, head, Relation.HEAD)
                spouse_age = head + rng.uniform(-5, 2)
                add(Gender.FEMALE, spouse_age, Relation.SPOUSE)
                children(spouse_age, 1 if rng.random() < 0.6 else 2, Relation.CHILD, max_age=26)
                parent_age = head + rng.uniform(24, 32)
                if rng.random() < 0.55:
                    add(self.gender(0.35), parent_age, Relation.PARENT)
                else:
                    add(Gender.FEMALE, parent_age, Relation.PARENT_IN_LAW, surname=self.surname())
        elif kind == "core_family":
            head = rng.uniform(28, 55)
            add(Gender.MALE, head, Relation.HEAD)
            spouse_age = head + rng.uniform(-5, 2)
            spouse = add(Gender.FEMALE, spouse_age, Relation.SPOUSE)
            if rng.random() < 0.1:  # married into the family from elsewhere: a migrant
                spouse.residence_type = ResidenceType.MIGRANT
                spouse.region = rng.choice(SICHUAN_OTHER)
                spouse.id_number = self.id_number(spouse.region, spouse.birth_date, spouse.gender)
            n = 1 if spouse_age > 45 or rng.random() < 0.55 else 2
            children(spouse_age, n, Relation.CHILD, max_age=26)
        elif kind == "empty_nest":
            head = rng.uniform(55, 71)
            add(Gender.MALE, head, Relation.HEAD)
            add(Gender.FEMALE, head + rng.uniform(-5, 2), Relation.SPOUSE)
        elif kind == "single_adult":
            add(self.gender(0.6), rng.uniform(28, 66), Relation.HEAD)
        elif kind == "worker":
            add(self.gender(0.66), rng.triangular(18, 52, 28), Relation.HEAD)
        elif kind == "couple":
            head = rng.triangular(20, 48, 27)
            add(Gender.MALE, head, Relation.HEAD)
            add(Gender.FEMALE, head + rng.uniform(-4, 2), Relation.SPOUSE)
        elif kind in ("family", "family_grandparent"):
            head = rng.uniform(26, 46)
            add(Gender.MALE, head, Relation.HEAD)
            spouse_age = head + rng.uniform(-4, 2)
            add(Gender.FEMALE, spouse_age, Relation.SPOUSE)
            count = 1 if kind == "family_grandparent" or rng.random() < 0.6 else 2
            for _ in range(count):
                add(self.gender(), min(16.9, max(0.2, spouse_age - rng.uniform(22, 32))),
                    Relation.CHILD)  # fmt: skip
            if kind == "family_grandparent":
                add(self.gender(0.3), head + rng.uniform(24, 32), Relation.PARENT)
        elif kind == "shared":
            g = self.gender(0.7)
            add(g, rng.uniform(18, 36), Relation.HEAD)
            for _ in range(1 if rng.random() < 0.6 else 2):
                add(g, rng.uniform(18, 36), Relation.OTHER, surname=self.surname(),
                    where=rng.choice(SICHUAN_OTHER + OTHER_PROVINCES))  # fmt: skip
        else:
            raise ValueError(kind)
        return members

    # -- details of a person

    def work_or_school(self, p: PersonPlan, kind: str) -> str:
        rng, age = self.rng, p.age
        if age < 3:
            return ""
        if age < 6:
            return "幼儿园"
        if age < 12:
            return f"小学{'一二三四五六'[age - 6]}年级"
        if age < 15:
            return f"初中{'一二三'[age - 12]}年级"
        if age < 18:
            return rng.choice(("高中", "高中", "职业高中"))
        if age < 22 and rng.random() < 0.6:
            return "大学在读（外地）" if p.residence_type == ResidenceType.REGISTERED else "务工"
        retired = 60 if p.gender == Gender.MALE else 55
        if p.residence_type == ResidenceType.REGISTERED:
            if age >= retired:
                return "退休" if rng.random() < 0.95 else "退休（返聘）"
            return rng.choice(WORK_REGISTERED)
        if kind == "family_grandparent" and p.relation == Relation.PARENT:
            return "照看孙辈"
        if age >= retired:
            return rng.choice(("务工", "照看孙辈", "无"))
        return rng.choice(WORK_MIGRANT)

    def phones(self, p: PersonPlan) -> None:
        rng, age = self.rng, p.age
        chance = 0.0
        if 12 <= age < 16:
            chance = 0.35
        elif 16 <= age < 70:
            chance = 0.97
        elif 70 <= age < 80:
            chance = 0.75
        elif age >= 80:
            chance = 0.45
        if rng.random() < chance:
            p.phone = self.mobile()
        if p.relation == Relation.HEAD and p.residence_type == ResidenceType.REGISTERED:
            if not p.phone and age >= 70 and rng.random() < 0.6:
                p.phone = self.landline()
            elif p.phone and rng.random() < 0.18:
                p.phone2 = self.landline()
        if p.phone and not p.phone2 and 20 <= age < 60 and rng.random() < 0.03:
            p.phone2 = self.mobile()  # a work phone

    def tags(self, household: HouseholdPlan) -> None:
        rng = self.rng
        for p in household.members:
            age = p.age
            if household.kind == "elderly_alone":
                p.tags.append(StandardCareTag.ELDERLY_ALONE)
            if household.kind == "left_behind" and p.relation == Relation.GRANDCHILD:
                p.tags.append(StandardCareTag.LEFT_BEHIND_CHILD)
            if household.renting and age <= 16:
                p.tags.append(StandardCareTag.MIGRANT_CHILD)
            disability = 0.005 if age < 18 else 0.015 if age < 60 else 0.05 if age < 80 else 0.1
            if rng.random() < disability:
                p.tags.append(StandardCareTag.DISABILITY)
            veteran = 0.0
            if p.gender == Gender.MALE:
                veteran = 0.07 if 1940 <= p.birth_date.year <= 1975 else 0.02
                veteran = veteran if age >= 20 else 0.0
            if rng.random() < veteran:
                p.tags.append(StandardCareTag.VETERAN)
            illness = 0.0 if age < 40 else 0.01 if age < 60 else 0.03
            if rng.random() < illness:
                p.tags.append(StandardCareTag.SERIOUS_ILLNESS)


def _floor_of(unit_code: str) -> int:
    """``hq-c01-h01-301`` → 3 (units are numbered floor, 0, room)."""
    suffix = unit_code.rsplit("-", 1)[-1]
    return int(suffix[:-2]) if len(suffix) >= 3 and suffix.isdigit() else 1


def plan_registry_demo(*, seed: int, houses: Sequence[HouseLayout]) -> DemoPlan:
    """Everything the demo registry will hold, decided from the seed and the house layout."""
    planner = _Planner(seed)
    rng = planner.rng
    houses = sorted(houses, key=lambda h: h.code)

    # 1. What each unit is: the owner's home, another registered family's, rented, or empty.
    unit_kind: dict[str, str] = {}
    owner_present: dict[str, bool] = {}
    for house in houses:
        present = rng.random() < 0.78 and len(house.units) > 0
        owner_present[house.code] = present
        for i, unit in enumerate(sorted(house.units)):
            if present and i == 0:
                unit_kind[unit] = "owner"
                continue
            weights = (0.50, 0.45, 0.05) if present else (0.22, 0.70, 0.08)
            unit_kind[unit] = rng.choices(("registered", "rented", "vacant"), weights)[0]

    # 2. The households, by kind, in a seeded order.
    registered = [k for k, n in REGISTERED_KINDS.items() for _ in range(n)]
    renting = [k for k, n in RENTING_KINDS.items() for _ in range(n)]
    rng.shuffle(registered)
    rng.shuffle(renting)

    # 3. Households into units: one per unit first (owners get an older household), then the
    #    rest into units of the same kind (rooms of old houses are often shared by two or three).
    units_of = {k: [u for u in sorted(unit_kind) if unit_kind[u] == k]
                for k in ("owner", "registered", "rented", "vacant")}  # fmt: skip
    placed: dict[str, list[str]] = defaultdict(list)  # unit -> household kinds
    owner_pool = [k for k in registered if k in OWNER_KINDS]
    rest = [k for k in registered if k not in OWNER_KINDS]
    for unit in units_of["owner"]:
        kind = owner_pool.pop() if owner_pool else rest.pop()
        placed[unit].append(kind)
    pool = owner_pool + rest
    rng.shuffle(pool)
    for unit in units_of["registered"]:
        if pool:
            placed[unit].append(pool.pop())
    homes = units_of["registered"] + units_of["owner"]
    while pool:
        unit = rng.choice(homes)
        if len(placed[unit]) < 3:
            placed[unit].append(pool.pop())
    rented_units = units_of["rented"]
    for unit in rented_units:
        if renting:
            placed[unit].append(renting.pop())
    while renting:
        unit = rng.choice(rented_units)
        if len(placed[unit]) < 3:
            placed[unit].append(renting.pop())
    # Registered units left without a household stay empty.
    for unit in units_of["registered"]:
        if not placed[unit]:
            unit_kind[unit] = "vacant"

    # 4. People.
    households: list[HouseholdPlan] = []
    for house in houses:
        for unit in sorted(house.units):
            for n, kind in enumerate(placed.get(unit, []), start=1):
                is_renting = unit_kind[unit] == "rented"
                hh = HouseholdPlan(code=f"{unit}-{n:02d}", unit=unit, kind=kind,
                                   renting=is_renting)  # fmt: skip
                hh.members = planner.household(kind, is_renting)
                days_here = int(rng.triangular(20, 2400, 400))
                for p in hh.members:
                    p.work_or_school = planner.work_or_school(p, kind)
                    planner.phones(p)
                    if p.residence_type == ResidenceType.REGISTERED:
                        settled = max(p.birth_date, dt.date(1965, 1, 1))
                        earliest = p.birth_date + dt.timedelta(days=int(365.25 * 20))
                        if p.relation in (Relation.HEAD, Relation.SPOUSE, Relation.PARENT):
                            settled = max(settled, min(earliest, ANCHOR))
                        span = (ANCHOR - settled).days
                        p.moved_in_on = settled + dt.timedelta(
                            days=rng.randrange(span) if span > 0 and p.age >= 18 else 0
                        )
                    else:
                        p.moved_in_days_ago = days_here + rng.randrange(0, 30)
                        if p.residence_type == ResidenceType.MIGRANT and p.age >= 16:
                            # 居住证 valid one year and renewed: spread over the coming year;
                            # some expire within a month, a few have already expired.
                            roll = rng.random()
                            p.expires_in_days = (
                                rng.randrange(-60, 0) if roll < 0.06
                                else rng.randrange(0, 31) if roll < 0.16
                                else rng.randrange(31, 366)
                            )  # fmt: skip
                planner.tags(hh)
                households.append(hh)

    # Low income (低保): whole households, mostly the old and alone.
    low_income = {"elderly_alone": 4.0, "left_behind": 4.0, "single_adult": 2.0,
               "core_family": 0.6, "three_generations": 0.4, "elderly_couple": 1.0}  # fmt: skip
    candidates = [h for h in households if not h.renting and h.kind in low_income]
    chosen: set[str] = set()
    while len(chosen) < min(LOW_INCOME_HOUSEHOLDS, len(candidates)):
        pick = rng.choices(candidates, [low_income[h.kind] for h in candidates])[0]
        chosen.add(pick.code)
    for h in households:
        if h.code in chosen:
            for p in h.members:
                p.tags.append(StandardCareTag.LOW_INCOME)

    # 5. Houses: owner, floors, use.
    by_unit: dict[str, list[HouseholdPlan]] = defaultdict(list)
    for h in households:
        by_unit[h.unit].append(h)
    house_plans: list[HousePlan] = []
    landlord: dict[str, tuple[str | None, str]] = {}
    for house in houses:
        units = sorted(house.units)
        owner_household = None
        if owner_present[house.code] and by_unit.get(units[0]):
            owner_household = by_unit[units[0]][0].code
        owner_name = (
            ""
            if owner_household
            else planner.name(
                planner.surname(), planner.gender(0.6), planner.birth(rng.uniform(45, 75))
            )
        )
        landlord[house.code] = (owner_household, owner_name)
        kinds = [unit_kind[u] for u in units]
        rented_share = kinds.count("rented") / len(kinds) if kinds else 0.0
        note = ""
        if not any(by_unit.get(u) for u in units):
            use = HouseUse.VACANT
        elif rng.random() < 0.09:
            use, note = HouseUse.MIXED, "一楼临街铺面"
        elif rented_share >= 0.6:
            use = HouseUse.RENTED
        else:
            use = HouseUse.RESIDENTIAL
        self_built = rng.random() < 0.92
        if not self_built:
            note = note or "原单位集资房"
        house_plans.append(HousePlan(
            code=house.code, house_number=house.name,
            floors=max((_floor_of(u) for u in units), default=1), use=use,
            self_built=self_built, owner_household=owner_household, owner_name=owner_name,
            note=note,
        ))  # fmt: skip

    # 6. Rentals: one per rented unit with tenants; a few ended ones in empty units.
    rentals: list[RentalPlan] = []
    house_of_unit = {u: h.code for h in houses for u in h.units}
    for unit in sorted(unit_kind):
        house_code = house_of_unit[unit]
        owner_hh, owner_name = landlord[house_code]
        if unit_kind[unit] == "rented" and by_unit.get(unit):
            tenants = by_unit[unit]
            started = max(p.moved_in_days_ago or 0 for h in tenants for p in h.members)
            roll = rng.random()
            inspected = (
                rng.randrange(5, 330) if roll < 0.7
                else rng.randrange(400, 1100) if roll < 0.85 else None
            )  # fmt: skip
            ends = None if rng.random() < 0.35 else int(rng.triangular(5, 420, 150))
            rentals.append(RentalPlan(
                unit=unit, landlord_household=owner_hh, landlord_name=owner_name,
                tenant_households=[h.code for h in tenants], starts_days_ago=started + 3,
                ends_in_days=ends,
                state=RentalState.REGISTERED if rng.random() < 0.72 else RentalState.UNREGISTERED,
                inspected_days_ago=min(inspected, started) if inspected is not None else None,
            ))  # fmt: skip
        elif unit_kind[unit] == "vacant" and rng.random() < 0.45:
            ended = rng.randrange(30, 700)
            rentals.append(RentalPlan(
                unit=unit, landlord_household=owner_hh, landlord_name=owner_name,
                tenant_households=[], starts_days_ago=ended + rng.randrange(180, 1100),
                ends_in_days=-ended, state=RentalState.ENDED,
                inspected_days_ago=ended + rng.randrange(10, 150),
            ))  # fmt: skip

    # 7. Vehicles: about 400, mostly Leshan plates, some new-energy, some from elsewhere.
    courtyard_of = {u: h.courtyard for h in houses for u in h.units}
    courtyard_of.update({h.code: h.courtyard for h in houses})
    vehicles = _plan_vehicles(planner, households, house_of_unit, courtyard_of)
    return DemoPlan(
        households=households, houses=house_plans, rentals=rentals, vehicles=vehicles,
        courtyard_of=courtyard_of,
    )  # fmt: skip


VEHICLES = 400


def _plan_vehicles(
    planner: _Planner,
    households: list[HouseholdPlan],
    house_of_unit: dict[str, str],
    courtyard_of: dict[str, str],
) -> list[VehiclePlan]:
    rng = planner.rng
    candidates: list[tuple[PersonPlan, str]] = []
    weights: list[float] = []
    for h in households:
        for p in h.members:
            if not 23 <= p.age <= 72:
                continue
            w = 1.0 if p.residence_type == ResidenceType.REGISTERED else 0.45
            w *= 1.6 if p.relation == Relation.HEAD else 0.6
            w *= 1.4 if p.gender == Gender.MALE else 0.7
            w *= 0.5 if p.age > 62 else 1.0
            candidates.append((p, h.unit))
            weights.append(w)
    owners: list[tuple[PersonPlan, str]] = []
    taken: set[int] = set()
    while len(owners) < min(VEHICLES - 20, len(candidates)):
        i = rng.choices(range(len(candidates)), weights)[0]
        if i not in taken:
            taken.add(i)
            owners.append(candidates[i])
    owners += [owners[rng.randrange(len(owners))] for _ in range(min(20, len(owners)))]

    plans: list[VehiclePlan] = []
    for n, (p, unit) in enumerate(owners):
        second = n >= len(owners) - 20
        roll = rng.random()
        if second:
            kind = VehicleKind.MOTORCYCLE if roll < 0.6 else VehicleKind.VAN_TRUCK
        else:
            kind = (VehicleKind.CAR if roll < 0.86 else VehicleKind.MOTORCYCLE if roll < 0.94
                    else VehicleKind.VAN_TRUCK)  # fmt: skip
        prefix = _plate_prefix(rng, p.region)
        new_energy = kind == VehicleKind.CAR and rng.random() < 0.17
        if kind == VehicleKind.VAN_TRUCK and rng.random() < 0.1:
            new_energy = True
        plate = _plate(planner, prefix, new_energy=new_energy, large=kind == VehicleKind.VAN_TRUCK)
        makes = {
            VehicleKind.CAR: NEV_MAKES if new_energy else CAR_MAKES,
            VehicleKind.MOTORCYCLE: MOTO_MAKES,
            VehicleKind.VAN_TRUCK: VAN_MAKES,
        }[kind]
        house = house_of_unit[unit]
        parks_at = house if rng.random() < 0.3 else courtyard_of[house]
        plans.append(VehiclePlan(
            plate=plate, kind=kind, owner_id_number=p.id_number, parks_at=parks_at,
            description=f"{rng.choice(COLOURS)}{rng.choice(makes)}",
        ))  # fmt: skip
    return plans


def _plate_prefix(rng: random.Random, region: str) -> str:
    if region.startswith("5111") or rng.random() < 0.55:
        return "川L" if rng.random() < 0.97 else "川A"
    if region.startswith("51"):
        return SICHUAN_PLATES.get(region[:4], "川A")
    province = PROVINCE_PLATES.get(region[:2], "渝")
    letter = "A" if rng.random() < 0.6 else rng.choice("BCDEFGH")
    return province + letter


def _plate(planner: _Planner, prefix: str, *, new_energy: bool, large: bool) -> str:
    rng = planner.rng
    while True:
        if new_energy and large:
            body = f"{rng.randrange(100_000):05d}" + rng.choice("DF")
        elif new_energy:
            second = rng.choice(PLATE_LETTERS) if rng.random() < 0.4 else str(rng.randrange(10))
            body = rng.choice("DDDF") + second + f"{rng.randrange(10_000):04d}"
        else:
            chars = [str(rng.randrange(10)) for _ in range(5)]
            for _ in range(rng.choice((0, 1, 1, 2))):
                chars[rng.randrange(5)] = rng.choice(PLATE_LETTERS)
            body = "".join(chars)
        plate = prefix + body
        if plate not in planner.used_plates and not _looks_handmade(body):
            planner.used_plates.add(plate)
            return plate


def _looks_handmade(body: str) -> bool:
    """Serials people type by hand in examples and tests (川L12345, 川L77777, 川LA1B2C):
    the demo leaves them free."""
    runs = ("1234", "2345", "3456", "4321", "5432", "6543", "A1B2C")
    return any(r in body for r in runs) or len(set(body.rstrip("DF"))) == 1


# --- Writing the plan -----------------------------------------------------------------------


def house_layouts(area: Place) -> list[HouseLayout]:
    """The houses of the demo area with their units and courtyard (two queries)."""
    places = list(
        Place.objects.filter(
            path__startswith=area.path,
            kind__in=[PlaceKind.COURTYARD, PlaceKind.HOUSE, PlaceKind.UNIT],
        ).values_list("kind", "code", "name", "path")
    )
    code_at = {path: code for _k, code, _n, path in places}
    units: dict[str, list[str]] = defaultdict(list)
    for kind, code, _name, path in places:
        if kind == PlaceKind.UNIT:
            units[path[: -Place.steplen]].append(code)
    return [
        HouseLayout(
            code=code,
            name=name,
            courtyard=code_at[path[: -Place.steplen]],
            units=tuple(sorted(units.get(path, []))),
        )
        for kind, code, name, path in places
        if kind == PlaceKind.HOUSE and units.get(path)
    ]


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class _Writer:
    places: dict[str, Place]
    today: dt.date
    existing_households: set[str]
    registered: dict[str, int]  # ID number -> resident pk, for people already in the registry
    profiled: set[int]  # house ids with details
    rented: set[int]  # place ids with a rental
    plates: set[str]
    people: dict[str, Resident] = field(default_factory=dict)  # ID number -> resident
    heads: dict[str, str] = field(default_factory=dict)  # household code -> head's ID number
    added: Counter[str] = field(default_factory=Counter)

    def resident(self, id_number: str) -> Resident | None:
        found = self.people.get(id_number)
        if found is None and id_number in self.registered:
            found = Resident.objects.filter(pk=self.registered[id_number]).first()
            if found is not None:
                self.people[id_number] = found
        return found

    def household(self, plan: HouseholdPlan) -> None:
        head = next((p for p in plan.members if p.relation == Relation.HEAD), plan.members[0])
        self.heads[plan.code] = head.id_number
        if plan.code in self.existing_households:
            return
        household = household_create(actor=ACTOR, place=self.places[plan.unit], code=plan.code)
        self.added["households"] += 1
        for p in plan.members:
            if p.id_number in self.registered:
                continue
            moved_in = p.moved_in_on
            if moved_in is None and p.moved_in_days_ago is not None:
                moved_in = max(p.birth_date, self.today - dt.timedelta(days=p.moved_in_days_ago))
            expires = (
                self.today + dt.timedelta(days=p.expires_in_days)
                if p.expires_in_days is not None
                else None
            )
            try:
                with transaction.atomic():
                    resident = resident_register(
                        actor=ACTOR,
                        household=household,
                        name=p.name,
                        id_number=p.id_number,
                        phone=p.phone,
                        phone2=p.phone2,
                        relation_to_head=p.relation,
                        residence_type=p.residence_type,
                        work_or_school=p.work_or_school,
                        moved_in_on=moved_in,
                        registration_expires_on=expires,
                        tags=p.tags,
                        reason="demo community",
                    )
            except ResidentAlreadyRegistered as exc:  # registered meanwhile, by hand
                self.registered[p.id_number] = exc.resident_id
                continue
            self.people[p.id_number] = resident
            self.added["residents"] += 1
            self.added["care tags"] += len(p.tags)

    def house(self, plan: HousePlan) -> None:
        house = self.places[plan.code]
        if house.pk in self.profiled:
            return
        owner = None
        if plan.owner_household is not None:
            owner = self.resident(self.heads.get(plan.owner_household, ""))
        house_profile_set(
            actor=ACTOR,
            house=house,
            house_number=plan.house_number,
            owner=owner,
            owner_name="" if owner is not None else plan.owner_name,
            floors=plan.floors,
            use=plan.use,
            self_built=plan.self_built,
            note=plan.note,
        )
        self.added["house profiles"] += 1

    def rental(self, plan: RentalPlan, members: dict[str, list[str]]) -> None:
        unit = self.places[plan.unit]
        if unit.pk in self.rented:
            return
        landlord = None
        if plan.landlord_household is not None:
            landlord = self.resident(self.heads.get(plan.landlord_household, ""))
        tenants = [
            r
            for code in plan.tenant_households
            for id_number in members[code]
            if (r := self.resident(id_number)) is not None
        ]
        starts = self.today - dt.timedelta(days=plan.starts_days_ago)
        ends = (
            self.today + dt.timedelta(days=plan.ends_in_days)
            if plan.ends_in_days is not None
            else None
        )
        rental = rental_create(
            actor=ACTOR,
            place=unit,
            landlord=landlord,
            landlord_name="" if landlord is not None else plan.landlord_name,
            tenants=tenants,
            starts_on=starts,
            ends_on=ends,
            registration_state=plan.state,
        )
        if plan.inspected_days_ago is not None:
            rental_inspect(
                actor=ACTOR,
                rental=rental,
                on=self.today - dt.timedelta(days=plan.inspected_days_ago),
                note="出租房屋安全检查",
            )
        self.rented.add(unit.pk)
        self.added["rentals"] += 1

    def vehicle(self, plan: VehiclePlan) -> None:
        if plan.plate in self.plates:
            return
        owner = self.resident(plan.owner_id_number)
        if owner is None or owner.status != ResidentStatus.ACTIVE:
            return
        vehicle_register(
            actor=ACTOR,
            plate=plan.plate,
            kind=plan.kind,
            owner=owner,
            place=self.places[plan.parks_at],
            description=plan.description,
        )
        self.plates.add(plan.plate)
        self.added["vehicles"] += 1


@dataclass
class _CourtyardWork:
    households: list[HouseholdPlan] = field(default_factory=list)
    houses: list[HousePlan] = field(default_factory=list)
    rentals: list[RentalPlan] = field(default_factory=list)
    vehicles: list[VehiclePlan] = field(default_factory=list)


def build_registry_demo(*, seed: int, progress: Callable[[str], object]) -> dict[str, int]:
    """Write the demo registry into the demo community (``core.demo`` built it), idempotently.

    Returns what the demo area's registry holds afterwards (households, residents, ...)."""
    area = Place.objects.filter(code=AREA_CODE).first()
    if area is None:
        progress("  registry: no demo community to fill (run the place part first)")
        return {}
    started = time.perf_counter()
    plan = plan_registry_demo(seed=seed, houses=house_layouts(area))
    care_tags_ensure_standard(actor=ACTOR)  # idempotent; the migration normally made them

    places = {
        p.code: p
        for p in Place.objects.filter(
            path__startswith=area.path,
            kind__in=[PlaceKind.COURTYARD, PlaceKind.HOUSE, PlaceKind.UNIT],
        )
    }
    codes = [h.code for h in plan.households]
    ids = [p.id_number for p in plan.people()]
    index_of = {id_number_index(n): n for n in ids}  # planned numbers are normalised
    existing_households: set[str] = set()
    for chunk in _chunks(codes):
        existing_households.update(
            Household.objects.filter(code__in=chunk).values_list("code", flat=True)
        )
    registered: dict[str, int] = {}
    for chunk in _chunks(list(index_of)):
        for index, pk in Resident.objects.filter(id_number_index__in=chunk).values_list(
            "id_number_index", "pk"
        ):
            registered[index_of[str(index)]] = pk
    writer = _Writer(
        places=places,
        today=clock.today(),
        existing_households=existing_households,
        registered=registered,
        profiled=set(
            HouseProfile.objects.filter(house__path__startswith=area.path).values_list(
                "house_id", flat=True
            )
        ),
        rented=set(
            Rental.objects.filter(place__path__startswith=area.path).values_list(
                "place_id", flat=True
            )
        ),
        plates=set(
            Vehicle.objects.filter(plate__in=[v.plate for v in plan.vehicles]).values_list(
                "plate", flat=True
            )
        ),
    )

    # Everything of one courtyard in one transaction (the services nest as savepoints).
    work: dict[str, _CourtyardWork] = defaultdict(_CourtyardWork)
    for h in plan.households:
        work[plan.courtyard_of[h.unit]].households.append(h)
    for hp in plan.houses:
        work[plan.courtyard_of[hp.code]].houses.append(hp)
    for r in plan.rentals:
        work[plan.courtyard_of[r.unit]].rentals.append(r)
    for v in plan.vehicles:  # parked at the owner's house or in its courtyard
        work[plan.courtyard_of.get(v.parks_at, v.parks_at)].vehicles.append(v)
    members = {h.code: [p.id_number for p in h.members] for h in plan.households}
    courtyards = sorted(work)
    for n, courtyard in enumerate(courtyards, start=1):
        todo = work[courtyard]
        with transaction.atomic():
            for household in todo.households:
                writer.household(household)
            for house in todo.houses:
                writer.house(house)
            for rental in todo.rentals:
                writer.rental(rental, members)
            for vehicle in todo.vehicles:
                writer.vehicle(vehicle)
        if n % 11 == 0 or n == len(courtyards):
            progress(
                f"  registry: courtyards {n}/{len(courtyards)}, "
                f"{writer.added['residents']:,} residents added "
                f"({time.perf_counter() - started:.1f} s)"
            )
    totals = registry_counts(area)
    added = ", ".join(f"{v:,} {k}" for k, v in writer.added.items() if v) or "nothing new"
    progress(f"  registry: added {added} in {time.perf_counter() - started:.1f} s")
    return totals


def registry_counts(area: Place) -> dict[str, int]:
    """What the registry holds inside ``area`` (active residents only)."""
    inside = Q(place__path__startswith=area.path)
    residents = Resident.objects.filter(inside, status=ResidentStatus.ACTIVE)
    return {
        "households": Household.objects.filter(inside).count(),
        "residents": residents.count(),
        "migrants and renters": residents.exclude(residence_type=ResidenceType.REGISTERED).count(),
        "rentals": Rental.objects.filter(inside).count(),
        "vehicles": Vehicle.objects.filter(inside).count(),
        "care tags": ResidentTag.objects.filter(
            resident__place__path__startswith=area.path
        ).count(),
        "house profiles": HouseProfile.objects.filter(house__path__startswith=area.path).count(),
    }
