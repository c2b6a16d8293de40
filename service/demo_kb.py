"""Demo articles of the knowledge base, in Chinese and English: public answers for the help center, internal
procedures for the desk, a draft and an edited article with two versions, so the search, the suggestions on the
demo tickets (发票, 登录, 乱码…) and the public pages have something to show. Idempotent."""

from __future__ import annotations

from crm.models import User
from service.kb_models import Article, ArticleCategory
from service.services.article import ArticleData, article_archive, article_create, article_update

CATEGORIES = ["账单与发票", "账号与登录", "使用技巧", "Getting started"]
# (title, summary, body, category index, visibility, status, tags)
ARTICLES = [
    (
        "如何申请退款",
        "在订单详情页提交退款申请，三个工作日内原路退回。",
        "## 申请步骤\n\n1. 进入 **我的订单**，找到需要退款的订单；\n2. 点击 **申请退款**，选择原因并上传凭证；\n"
        "3. 提交后客服会在一个工作日内审核。\n\n## 到账时间\n\n| 支付方式 | 到账时间 |\n|---|---|\n"
        "| 微信支付 | 1–3 个工作日 |\n| 对公转账 | 3–5 个工作日 |\n",
        0,
        "public",
        "published",
        ["退款", "订单"],
    ),
    (
        "发票抬头开错了怎么办",
        "已开具的发票抬头有误时，可在线申请作废重开。",
        "发票抬头或税号填写错误时：\n\n- 当月开具的发票：在 **发票管理** 中点击 **作废重开**；\n"
        "- 跨月的增值税专用发票：需要先开具红字发票，再重新开具。\n\n重开的发票会发送到预留邮箱。",
        0,
        "public",
        "published",
        ["发票"],
    ),
    (
        "登录时提示密码错误",
        "连续输错密码会被临时锁定，可通过找回密码重置。",
        "1. 确认大小写和输入法状态；\n2. 点击登录页的 **忘记密码**，通过邮箱重置；\n"
        "3. 连续输错多次后账号会被临时锁定，请 15 分钟后再试，或联系管理员解锁。",
        1,
        "public",
        "published",
        ["登录", "密码"],
    ),
    (
        "导出的 CSV 用 Excel 打开乱码",
        "选择带 BOM 的 UTF-8 导出，或在 Excel 中通过“数据 → 自文本”导入。",
        "Excel 默认按系统编码打开 CSV，中文会显示为乱码。\n\n- 导出时勾选 **Excel 兼容（UTF-8 BOM）**；\n"
        "- 或在 Excel 中选择 **数据 → 自文本/CSV**，编码选 65001: UTF-8。",
        2,
        "public",
        "published",
        ["导出", "乱码"],
    ),
    (
        "How to reset your password",
        "Reset a forgotten password from the login page in two minutes.",
        "1. On the login page, click **Forgot password**.\n2. Enter the email address of your account.\n"
        "3. Open the link we email you and choose a new password.\n\nThe link expires after one hour.",
        3,
        "public",
        "published",
        ["password", "login"],
    ),
    (
        "Importing contacts from a spreadsheet",
        "Upload a CSV or XLSX file, map its columns and check the preview before importing.",
        "Go to **Customers → Import**, upload your file (CSV in UTF-8 or GB18030, or XLSX), map each column, "
        "then check the preview: rows with problems are listed with the reason.",
        3,
        "public",
        "published",
        ["import"],
    ),
    (
        "退款审批流程（内部）",
        "",
        "金额 5,000 元以下由客服主管审批；5,000 元以上需财务经理复核。\n\n审批通过后在工单中回复客户并附上退款单号。",
        0,
        "internal",
        "published",
        ["退款", "审批"],
    ),
    (
        "大客户紧急工单处理规范",
        "",
        "重点客户的紧急工单必须在 30 分钟内首次响应，并同步告知其客户经理。",
        2,
        "internal",
        "draft",
        ["紧急"],
    ),
    (
        "2025 年双十一退换货政策",
        "活动已结束，此政策仅作存档。",
        "2025 年双十一期间的订单可在签收后 15 天内无理由退换货。\n\n活动已结束，现行政策见《如何申请退款》。",
        0,
        "public",
        "published",
        ["退款", "活动"],
    ),
]


def seed_articles(demo, agents: list[User]) -> None:
    tenant = demo.tenant
    if not agents or Article.objects.filter(tenant=tenant).exists():
        return
    agent = agents[0]
    categories = [ArticleCategory.objects.get_or_create(tenant=tenant, name=name)[0] for name in CATEGORIES]
    made = []
    for title, summary, body, category, visibility, status, tags in ARTICLES:
        made.append(
            article_create(
                acting_user=agent,
                data=ArticleData(
                    title=title,
                    summary=summary,
                    body=body,
                    category=categories[category],
                    visibility=visibility,
                    status=status,
                    tags=tags,
                    related=made[:1] if made else [],
                ),
            )
        )
    refund = made[0]
    article_update(
        acting_user=agents[-1],
        article=refund,
        data=ArticleData(
            title=refund.title,
            summary=refund.summary,
            body=refund.body + "\n> 退款进度可在订单详情页查看。\n",
            category=refund.category,
            visibility=refund.visibility,
            status=refund.status,
            tags=refund.tags,
            related=[made[1], made[6]],
        ),
        note="补充进度查询说明",
    )
    Article.objects.filter(pk__in=[refund.pk, made[2].pk]).update(used_count=5, helpful_yes=12, helpful_no=1)
    # Last season's policy, archived: off the help centre and the suggestions, kept and restorable.
    article_archive(acting_user=agent, article=made[-1])
