"""The demo contest: the 2025 Jiangsu Team Leader Digital Ability Contest, safe to load twice.

Every object is found by its natural key before it is created, so a second load adds nothing.
Contestants are generated from a fixed seed with valid resident ID numbers (GB 11643).
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from app.extensions import db
from app.models import (
    Ability,
    AggregationMethod,
    AwardRounding,
    AwardTies,
    Component,
    ComponentKind,
    Contest,
    Contestant,
    CutoffTiePolicy,
    DisqualifyScope,
    Enterprise,
    Entry,
    EntrySource,
    EntryStatus,
    Gender,
    ItemKind,
    JudgeAssignment,
    MarkingItem,
    MarkingNode,
    PanelRole,
    Role,
    ScoreSource,
    Stage,
    StageEntry,
    StageKind,
    StageStatus,
    Track,
    User,
)
from app.services import accounts, audit
from app.services.registration import change_status, find_or_create_enterprise

CONTEST_CODE = "jstl-2025"

ABILITIES = ["组织管理", "沟通协调", "持续学习", "团队文化建设", "人才培育",
             "开拓创新", "问题解决", "数智化应用", "职业素养", "专业技术"]
ABILITY_CODES = ["organisation", "communication", "learning", "team-culture", "talent",
                 "innovation", "problem-solving", "digital", "professionalism", "expertise"]

# (code, name, host union, co-hosts)
TRACKS = [
    ("chem", "化工（生物医药）", "省机冶石化工会", "中国石化金陵石化公司"),
    ("steel", "钢铁", "省机冶石化工会", "江苏沙钢集团有限公司"),
    ("machinery", "机械", "省机冶石化工会", "徐工集团工程机械股份有限公司"),
    ("textile", "轻纺", "省轻纺工会", "江苏阳光集团有限公司"),
    ("new-energy", "新能源", "省能源化学地质工会", "天合光能股份有限公司"),
    ("construction", "建筑", "省建设建材工会", "江苏省建筑工程集团有限公司"),
    ("power", "电力", "省能源化学地质工会", "国网江苏省电力有限公司南京供电分公司"),
]

# The chemical track's 27 advanced-stage enterprises: 16 chemical, 11 biopharma.
CHEM_ENTERPRISES = [
    ("中国石化金陵石化公司", "化工", "南京市"),
    ("中国石化扬子石油化工有限公司", "化工", "南京市"),
    ("中国石化仪征化纤有限责任公司", "化工", "扬州市"),
    ("江苏扬农化工集团有限公司", "化工", "扬州市"),
    ("江苏索普（集团）有限公司", "化工", "镇江市"),
    ("南京红太阳股份有限公司", "化工", "南京市"),
    ("江苏三木集团有限公司", "化工", "无锡市"),
    ("江苏盛虹石化产业集团有限公司", "化工", "连云港市"),
    ("江苏斯尔邦石化有限公司", "化工", "连云港市"),
    ("江苏华昌化工股份有限公司", "化工", "苏州市"),
    ("江苏虹港石化有限公司", "化工", "连云港市"),
    ("中国石化南京化工有限公司", "化工", "南京市"),
    ("江苏新海石化有限公司", "化工", "连云港市"),
    ("江苏利士德化工有限公司", "化工", "镇江市"),
    ("常州强力电子新材料股份有限公司", "化工", "常州市"),
    ("泰州联成化学工业有限公司", "化工", "泰州市"),
    ("江苏恒瑞医药股份有限公司", "生物医药", "连云港市"),
    ("扬子江药业集团有限公司", "生物医药", "泰州市"),
    ("江苏豪森药业集团有限公司", "生物医药", "连云港市"),
    ("正大天晴药业集团股份有限公司", "生物医药", "连云港市"),
    ("江苏康缘药业股份有限公司", "生物医药", "连云港市"),
    ("南京先声药业有限公司", "生物医药", "南京市"),
    ("江苏济川药业集团有限公司", "生物医药", "泰州市"),
    ("苏州东瑞制药有限公司", "生物医药", "苏州市"),
    ("江苏联环药业股份有限公司", "生物医药", "扬州市"),
    ("南京圣和药业股份有限公司", "生物医药", "南京市"),
    ("江苏恩华药业股份有限公司", "生物医药", "徐州市"),
]

OTHER_ENTERPRISES = {
    "steel": [("江苏沙钢集团有限公司", "钢铁", "苏州市"), ("南京钢铁股份有限公司", "钢铁", "南京市"),
              ("中天钢铁集团有限公司", "钢铁", "常州市")],
    "machinery": [("徐工集团工程机械股份有限公司", "机械", "徐州市"),
                  ("常柴股份有限公司", "机械", "常州市"), ("江苏亚威机床股份有限公司", "机械", "扬州市")],
    "textile": [("江苏阳光集团有限公司", "纺织", "无锡市"), ("波司登股份有限公司", "服装", "苏州市"),
                ("江苏华芳集团有限公司", "纺织", "苏州市")],
    "new-energy": [("天合光能股份有限公司", "光伏", "常州市"),
                   ("阿特斯阳光电力集团股份有限公司", "光伏", "苏州市"),
                   ("远景能源有限公司", "风电", "无锡市")],
    "construction": [("江苏省建筑工程集团有限公司", "建筑", "南京市"),
                     ("中亿丰建设集团股份有限公司", "建筑", "苏州市"),
                     ("南通四建集团有限公司", "建筑", "南通市")],
    "power": [("国网江苏省电力有限公司南京供电分公司", "电网", "南京市"),
              ("江苏国信扬州发电有限责任公司", "发电", "扬州市"),
              ("华能南通电厂", "发电", "南通市")],
}

# Prefecture part of the ID number's region code (the county part depends on the birth year).
CITY_PREFECTURE = {"南京市": "3201", "无锡市": "3202", "徐州市": "3203", "常州市": "3204",
                   "苏州市": "3205", "南通市": "3206", "连云港市": "3207", "淮安市": "3208",
                   "盐城市": "3209", "扬州市": "3210", "镇江市": "3211", "泰州市": "3212",
                   "宿迁市": "3213"}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟陆汪范金石贾夏方邹孟秦江薛顾"
GIVEN = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝丽阳妮宝贝初程梵罡恒鸿桦骅剑娇纪宽苛灵玛媚琪晴容睿烁堂唯威韦雯苇萱阅彦宇雨洋忠宗曼紫逸贤蝶菡绿蓝儿翠烟"
POSTS = ["常减压装置操作班班长", "催化裂化运行一班班长", "聚合车间甲班班长", "合成氨装置二班班长",
         "公用工程运行班班长", "制剂车间包装班班长", "原料药合成班班长", "质量检验班班长",
         "仪表维护班班长", "电气运行班班长", "储运罐区班班长", "污水处理班班长"]
SKILL_LEVELS = ["高级技师", "技师", "高级工"]
HONOURS = ["", "", "", "", "江苏省五一劳动奖章", "江苏省技术能手", "市级劳动模范", "全国工人先锋号（班组）"]

# (username, password, role, display name) — printed by `make run` and the README.
DEMO_ACCOUNTS = [
    ("organiser", "Organiser2025", Role.ORGANISER, "大赛组委会"),
    ("chief", "Chief2025", Role.CHIEF_JUDGE, "周裁判长"),
    ("judge1", "Judge2025", Role.JUDGE, "钱裁判"),
    ("judge2", "Judge2025", Role.JUDGE, "孙裁判"),
    ("judge3", "Judge2025", Role.JUDGE, "李裁判"),
    ("judge4", "Judge2025", Role.JUDGE, "吴裁判"),
    ("judge5", "Judge2025", Role.JUDGE, "郑裁判"),
    ("arbiter", "Arbiter2025", Role.ARBITRATOR, "监督仲裁组"),
    ("contact", "Contact2025", Role.ENTERPRISE_CONTACT, "金陵石化工会"),
    ("contestant", "Contestant2025", Role.CONTESTANT, "demo contestant"),
]
# Judges' own enterprises (a judge never marks a contestant from it).
JUDGE_ENTERPRISE = {"judge1": "中国石化扬子石油化工有限公司", "judge2": "江苏恒瑞医药股份有限公司",
                    "contact": "中国石化金陵石化公司"}

CONTEST_DATE = date(2025, 9, 1)


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + n

    def describe(self) -> str:
        if not self.created:
            return "demo contest already loaded: nothing added"
        parts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.created.items()))
        return f"demo contest loaded: {parts}"

    def describe_in_chinese(self) -> str:
        """The same for the audit log, which people read in Chinese."""
        parts = "，".join(f"{_KIND_NAMES.get(kind, kind)}{n}" for kind, n in
                         sorted(self.created.items()))
        return f"载入演示赛事：{parts}" if parts else "演示赛事已载入，未新增内容"


_KIND_NAMES = {
    "abilities": "能力", "accounts": "账号", "advancement lists": "晋级名单", "appeals": "申诉",
    "contestants": "选手", "contests": "赛事", "eligibility pools": "资格审核范围",
    "enterprises": "单位", "exam questions": "试题",
    "imported results files": "导入的成绩文件", "judge assignments": "裁判指派",
    "published results versions": "已发布的成绩版本", "score sheets": "评分表", "sittings": "场次",
    "stages": "赛段", "tracks": "赛道",
}


def load_demo(*, living: bool = True) -> DemoSummary:
    """Create (or complete) the demo contest, its people and its accounts; flush, not commit.

    ``living``: then play the chemical track on to its advanced assessment (app.services.
    demo_story); without it the demo stops at configuration and registrations (what the test
    suite starts from)."""
    summary = DemoSummary()
    rng = random.Random(2025)
    contest = _contest(summary)
    abilities = _abilities(contest, summary)
    tracks = _tracks(contest, summary)
    enterprises = _enterprises(summary)
    users = _accounts(enterprises, summary)
    stages = _stages(tracks, abilities, summary)
    _panel(stages["chem-advanced"], users, summary)
    _entries(contest, tracks, enterprises, stages, users, rng, summary)
    if living:
        from app.services import demo_story

        demo_story.play(contest, stages, users, summary)
    if summary.created:
        audit.record("demo.load", contest, summary.describe_in_chinese())
    db.session.flush()
    return summary


def _contest(summary: DemoSummary) -> Contest:
    contest = db.session.scalar(sa.select(Contest).where(Contest.code == CONTEST_CODE))
    if contest is None:
        contest = Contest(
            code=CONTEST_CODE, name="2025年江苏省班组长数字能力大赛", short_name="班组长数字能力大赛",
            year=2025, level="一级", organiser="江苏省总工会", contest_date=CONTEST_DATE,
            exam_number_pattern="{year}{track_no:02d}{seq:04d}", is_template=False)
        db.session.add(contest)
        db.session.flush()
        summary.add("contests")
    return contest


def _abilities(contest: Contest, summary: DemoSummary) -> dict[str, Ability]:
    existing = {a.code: a for a in contest.abilities}
    for order, (code, name) in enumerate(zip(ABILITY_CODES, ABILITIES, strict=True)):
        if code not in existing:
            existing[code] = Ability(contest=contest, code=code, name=name, sort_order=order)
            db.session.add(existing[code])
            summary.add("abilities")
    return existing


def _tracks(contest: Contest, summary: DemoSummary) -> dict[str, Track]:
    existing = {t.code: t for t in contest.tracks}
    for order, (code, name, host, co_hosts) in enumerate(TRACKS):
        if code not in existing:
            existing[code] = Track(contest=contest, code=code, name=name, number=order + 1,
                                   host_union=host, co_hosts=co_hosts, sort_order=order)
            db.session.add(existing[code])
            summary.add("tracks")
    db.session.flush()
    return existing


def _enterprises(summary: DemoSummary) -> dict[str, Enterprise]:
    found = {}
    for name, category, city in CHEM_ENTERPRISES + [e for es in OTHER_ENTERPRISES.values()
                                                    for e in es]:
        enterprise, created = find_or_create_enterprise(name, category=category, city=city)
        found[name] = enterprise
        if created:
            summary.add("enterprises")
    return found


def _accounts(enterprises: dict[str, Enterprise], summary: DemoSummary) -> dict[str, User]:
    users = {}
    for username, password, role, display_name in DEMO_ACCOUNTS:
        user = accounts.get_by_username(username)
        if user is None:
            enterprise = enterprises.get(JUDGE_ENTERPRISE.get(username, ""))
            user = accounts.create_user(username, display_name, role, password,
                                        enterprise=enterprise)
            summary.add("accounts")
        users[username] = user
    return users


def _component(stage: Stage, code: str, name: str, kind: ComponentKind, weight: str,
               order: int, **settings) -> Component:
    for component in stage.components:
        if component.code == code:
            return component
    component = Component(stage=stage, code=code, name=name, kind=kind, weight=Decimal(weight),
                          maximum=Decimal("100"), sort_order=order, **settings)
    db.session.add(component)
    return component


def _stages(tracks: dict[str, Track], abilities: dict[str, Ability],
            summary: DemoSummary) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    for code, track in tracks.items():
        by_seq = {s.seq: s for s in track.stages}
        prelim = by_seq.get(1)
        if prelim is None:
            prelim = Stage(
                track=track, seq=1, kind=StageKind.PRELIMINARY, name="预赛",
                status=StageStatus.SCORING if code == "chem" else StageStatus.REGISTRATION,
                # The chemical track's window has closed; the others stay open until the organisers
                # close them, so the demo can take self-registrations.
                registration_opens_at=datetime(2025, 6, 1),
                registration_closes_at=datetime(2025, 6, 30, 16) if code == "chem" else None,
                starts_on=date(2025, 7, 1), ends_on=date(2025, 7, 8),
                quota=60, review_pool=100, per_enterprise_cap=5,
                cutoff_tie_policy=CutoffTiePolicy.BREAK,
                tie_breaks=[{"key": "theory", "direction": "desc"},
                            {"key": "learning", "direction": "desc"}],
                notice_days=7, decimals=2)
            db.session.add(prelim)
            _component(prelim, "learning", "线上学习积分", ComponentKind.LEARNING_POINTS, "40", 0,
                       source=ScoreSource.IMPORT, aggregation=AggregationMethod.SINGLE)
            _component(prelim, "theory", "线上理论考试", ComponentKind.THEORY, "60", 1,
                       source=ScoreSource.IMPORT, aggregation=AggregationMethod.SINGLE)
            summary.add("stages")
        stages[f"{code}-preliminary"] = prelim
        if code != "chem":
            continue
        advanced = by_seq.get(2)
        if advanced is None:
            advanced = Stage(
                track=track, seq=2, kind=StageKind.ADVANCED, name="进阶考核",
                status=StageStatus.DRAFT, starts_on=date(2025, 9, 1), ends_on=date(2025, 9, 5),
                quota=10, per_enterprise_cap=None, cutoff_tie_policy=CutoffTiePolicy.BREAK,
                tie_breaks=[{"key": "practical", "direction": "desc"},
                            {"key": "twin", "direction": "desc"},
                            {"key": "time", "direction": "asc"},
                            {"key": "theory", "direction": "desc"}],
                notice_days=7, decimals=2,
                # The common rule: 一等奖 10%, 二等奖 20%, 三等奖 30% of the ranked, 四舍五入.
                awards=[{"name": "一等奖", "share": "10"}, {"name": "二等奖", "share": "20"},
                        {"name": "三等奖", "share": "30"}],
                award_rounding=AwardRounding.HALF_UP, award_ties=AwardTies.INCLUDE)
            db.session.add(advanced)
            _component(advanced, "theory", "理论考试", ComponentKind.THEORY, "30", 0,
                       source=ScoreSource.IMPORT, aggregation=AggregationMethod.SINGLE)
            practical = _component(
                advanced, "practical", "实操考试（特殊作业）", ComponentKind.PRACTICAL, "35", 1,
                source=ScoreSource.JUDGES, aggregation=AggregationMethod.TRIMMED_MEAN,
                min_judges=2, disagreement_threshold=Decimal("10"), time_limit_minutes=60,
                overrun_deduction_per_minute=Decimal("1"), overrun_disqualify_after_minutes=10)
            _component(advanced, "twin", "数字孪生基础能力比赛", ComponentKind.DIGITAL_TWIN, "35", 2,
                       source=ScoreSource.IMPORT, aggregation=AggregationMethod.SINGLE)
            db.session.flush()
            _practical_scheme(practical, abilities)
            summary.add("stages")
        stages["chem-advanced"] = advanced
        if by_seq.get(3) is None:
            db.session.add(Stage(track=track, seq=3, kind=StageKind.FINAL, name="全省总决赛",
                                 status=StageStatus.DRAFT, quota=None))
            summary.add("stages")
    db.session.flush()
    return stages


def _practical_scheme(component: Component, abilities: dict[str, Ability]) -> None:
    """A GB 30871 special-operation practical: preparation, execution, safety, veto items."""
    def node(code, title, node_kind, parent=None, order=0, **item):
        ability = abilities.get(item.pop("ability", ""))
        obj = MarkingItem(component=component, code=code, title=title, node=node_kind,
                          parent=parent, sort_order=order, ability=ability, **item)
        db.session.add(obj)
        return obj

    a = node("A", "作业前准备", MarkingNode.CRITERION, order=0)
    node("A1", "办理动火作业许可证，分析合格", MarkingNode.ITEM, a, 1, kind=ItemKind.MEASUREMENT,
         maximum=Decimal("10"), all_or_nothing=True, ability="professionalism")
    node("A2", "可燃气体检测（采样点、时间间隔）", MarkingNode.ITEM, a, 2,
         kind=ItemKind.MEASUREMENT, maximum=Decimal("15"), ability="expertise")
    node("A3", "班组安全交底与分工", MarkingNode.ITEM, a, 3, kind=ItemKind.JUDGEMENT,
         maximum=Decimal("15"), ability="organisation",
         descriptors={"0": "未交底", "1": "交底不完整", "2": "交底完整，分工基本明确",
                      "3": "交底完整、分工明确、确认到人"})
    b = node("B", "特殊作业实施", MarkingNode.CRITERION, order=4)
    node("B1", "受限空间进入程序", MarkingNode.ITEM, b, 5, kind=ItemKind.JUDGEMENT,
         maximum=Decimal("20"), ability="expertise",
         descriptors={"0": "程序错误", "1": "有重大遗漏", "2": "基本规范", "3": "完全规范、熟练"})
    node("B2", "现场沟通与监护", MarkingNode.ITEM, b, 6, kind=ItemKind.JUDGEMENT,
         maximum=Decimal("20"), ability="communication",
         descriptors={"0": "无监护", "1": "监护不到位", "2": "监护到位", "3": "监护到位、沟通顺畅"})
    node("B3", "数字化巡检记录", MarkingNode.ITEM, b, 7, kind=ItemKind.MEASUREMENT,
         maximum=Decimal("10"), ability="digital")
    c = node("C", "安全规范", MarkingNode.CRITERION, order=8)
    node("C1", "劳保用品穿戴不规范（每处）", MarkingNode.ITEM, c, 9, kind=ItemKind.DEDUCTION,
         maximum=Decimal("10"), deduction_per_occurrence=Decimal("2"), ability="professionalism")
    node("C2", "严重违章作业（如未检测即动火）", MarkingNode.ITEM, c, 10,
         kind=ItemKind.DISQUALIFYING, maximum=Decimal("0"),
         disqualify_scope=DisqualifyScope.COMPONENT, ability="professionalism")


def _panel(stage: Stage, users: dict[str, User], summary: DemoSummary) -> None:
    practical = next(c for c in stage.components if c.code == "practical")
    assigned = set(db.session.scalars(sa.select(JudgeAssignment.user_id)
                                      .where(JudgeAssignment.component_id == practical.id)))
    for username in ("chief", "judge1", "judge2", "judge3", "judge4", "judge5"):
        user = users[username]
        if user.id not in assigned:
            db.session.add(JudgeAssignment(
                component=practical, user=user,
                panel_role=PanelRole.CHIEF_JUDGE if username == "chief" else PanelRole.JUDGE))
            summary.add("judge assignments")


def _with_check_digit(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder digit


@functools.cache
def _region_code(prefecture: str, year: int) -> str | None:
    """The first county code of the prefecture that existed in ``year`` (GB/T 2260 history)."""
    for county in range(1, 100):
        code = f"{prefecture}{county:02d}"
        try:
            ric.validate(_with_check_digit(f"{code}{year}0101001"))
        except (ValidationError, KeyError):  # stdnum raises KeyError for non-county codes
            continue
        return code
    return None


def _id_number(rng: random.Random, city: str, gender: Gender, taken: set[str]) -> tuple[str, date]:
    """A valid resident ID number (GB 11643) for someone from ``city`` aged 25 to 58."""
    while True:
        born = date(rng.randint(1967, 2000), rng.randint(1, 12), rng.randint(1, 28))
        region = _region_code(CITY_PREFECTURE[city], born.year)
        if region is None:
            continue  # the prefecture had no county under this code yet
        seq = rng.randint(0, 99) * 10 + rng.choice([1, 3, 5, 7, 9] if gender == Gender.MALE
                                                   else [0, 2, 4, 6, 8])
        number = _with_check_digit(f"{region}{born:%Y%m%d}{seq:03d}")
        if number not in taken:
            taken.add(number)
            return number, born


def _entries(contest: Contest, tracks: dict[str, Track], enterprises: dict[str, Enterprise],
             stages: dict[str, Stage], users: dict[str, User], rng: random.Random,
             summary: DemoSummary) -> None:
    """180 entries in the chemical track (so its top 60 meets the cap of 5), 12 in each other."""
    taken: set[str] = set()
    plan: list[tuple[str, tuple[str, str, str]]] = []
    chem = CHEM_ENTERPRISES
    # Larger enterprises send more people, so several exceed the per-enterprise cap.
    weights = [14 if i < 4 else (9 if i < 10 else 5) for i in range(len(chem))]
    for i in range(180):
        plan.append(("chem", rng.choices(chem, weights=weights)[0] if i >= len(chem) else chem[i]))
    for code, names in OTHER_ENTERPRISES.items():
        for i in range(12):
            plan.append((code, names[i % len(names)]))

    organiser = users["organiser"]
    for index, (track_code, (ent_name, category, city)) in enumerate(plan):
        # One stream per person: what one person draws never depends on who exists already.
        rng = random.Random(f"demo-contestant-{index}")
        gender = Gender.MALE if rng.random() < 0.8 else Gender.FEMALE
        id_number, born = _id_number(rng, city, gender, taken)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
        phone = f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}"
        contestant = db.session.scalar(sa.select(Contestant).where(Contestant.id_number == id_number))
        if contestant is not None:
            continue
        contestant = Contestant(name=name, gender=gender, id_number=id_number, birth_date=born,
                                phone=phone)
        if index == 0:
            contestant.user = users["contestant"]
            users["contestant"].display_name = name
        db.session.add(contestant)
        track = tracks[track_code]
        entry = Entry(
            contest=contest, track=track, contestant=contestant, enterprise=enterprises[ent_name],
            enterprise_category=category, city=city, post=rng.choice(POSTS),
            team_name=f"{rng.choice('甲乙丙丁')}班", years_as_leader=Decimal(rng.randint(2, 20)),
            skill_level=rng.choice(SKILL_LEVELS), honours=rng.choice(HONOURS) or None,
            front_line=True, status=EntryStatus.DRAFT,
            source=EntrySource.IMPORT if index % 3 else EntrySource.SELF,
            created_by_id=organiser.id, submitted_at=datetime(2025, 6, 10 + index % 20, 9))
        db.session.add(entry)
        db.session.flush()
        change_status(entry, EntryStatus.SUBMITTED, actor=organiser)
        outcome = _outcome(track_code, index, rng)
        if outcome in (EntryStatus.ENDORSED, EntryStatus.APPROVED, EntryStatus.REJECTED):
            change_status(entry, EntryStatus.ENDORSED, actor=organiser)
        if outcome == EntryStatus.APPROVED:
            change_status(entry, EntryStatus.APPROVED, actor=organiser)
            db.session.add(StageEntry(stage=stages[f"{track_code}-preliminary"], entry=entry))
        elif outcome == EntryStatus.REJECTED:
            change_status(entry, EntryStatus.REJECTED, actor=organiser,
                          reason="担任班组长年限不足2年，请核实后重新提交")
        summary.add("contestants")
    db.session.flush()


def _outcome(track_code: str, index: int, rng: random.Random) -> EntryStatus:
    if index == 0:
        return EntryStatus.APPROVED  # the demo contestant account's entry
    roll = rng.random()
    if track_code == "chem":
        return (EntryStatus.APPROVED if roll < 0.9 else EntryStatus.SUBMITTED if roll < 0.95
                else EntryStatus.ENDORSED if roll < 0.98 else EntryStatus.REJECTED)
    return (EntryStatus.APPROVED if roll < 0.5 else EntryStatus.SUBMITTED if roll < 0.75
            else EntryStatus.ENDORSED if roll < 0.9 else EntryStatus.REJECTED)
