"""The built-in region list: China's 34 provincial-level divisions (23 provinces, 4 municipalities, 5 autonomous
regions, 2 special administrative regions), each with its English name and the spellings imports meet (the short
name, the English name, the capital and the largest cities)."""

from __future__ import annotations

# (value stored on records, English name, aliases)
CHINA_REGIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("北京市", "Beijing", ("北京", "京")),
    ("天津市", "Tianjin", ("天津", "津")),
    ("上海市", "Shanghai", ("上海", "沪")),
    ("重庆市", "Chongqing", ("重庆", "渝")),
    ("河北省", "Hebei", ("河北", "石家庄", "唐山")),
    ("山西省", "Shanxi", ("山西", "太原")),
    ("辽宁省", "Liaoning", ("辽宁", "沈阳", "大连")),
    ("吉林省", "Jilin", ("吉林", "长春")),
    ("黑龙江省", "Heilongjiang", ("黑龙江", "哈尔滨")),
    ("江苏省", "Jiangsu", ("江苏", "南京", "苏州", "无锡")),
    ("浙江省", "Zhejiang", ("浙江", "杭州", "宁波", "温州")),
    ("安徽省", "Anhui", ("安徽", "合肥")),
    ("福建省", "Fujian", ("福建", "福州", "厦门", "泉州")),
    ("江西省", "Jiangxi", ("江西", "南昌")),
    ("山东省", "Shandong", ("山东", "济南", "青岛")),
    ("河南省", "Henan", ("河南", "郑州")),
    ("湖北省", "Hubei", ("湖北", "武汉")),
    ("湖南省", "Hunan", ("湖南", "长沙")),
    ("广东省", "Guangdong", ("广东", "广州", "深圳", "东莞", "佛山")),
    ("海南省", "Hainan", ("海南", "海口", "三亚")),
    ("四川省", "Sichuan", ("四川", "成都")),
    ("贵州省", "Guizhou", ("贵州", "贵阳")),
    ("云南省", "Yunnan", ("云南", "昆明")),
    ("陕西省", "Shaanxi", ("陕西", "西安")),
    ("甘肃省", "Gansu", ("甘肃", "兰州")),
    ("青海省", "Qinghai", ("青海", "西宁")),
    ("台湾省", "Taiwan", ("台湾", "台北")),
    ("内蒙古自治区", "Inner Mongolia", ("内蒙古", "呼和浩特", "Nei Mongol")),
    ("广西壮族自治区", "Guangxi", ("广西", "南宁")),
    ("西藏自治区", "Tibet", ("西藏", "拉萨", "Xizang")),
    ("宁夏回族自治区", "Ningxia", ("宁夏", "银川")),
    ("新疆维吾尔自治区", "Xinjiang", ("新疆", "乌鲁木齐")),
    ("香港特别行政区", "Hong Kong", ("香港", "Hongkong", "HK")),
    ("澳门特别行政区", "Macao", ("澳门", "Macau")),
)

# The starting industry and source lists of a new company (values outside them stay accepted until an admin says
# otherwise): the suggestions the forms offered before the lists existed.
DEFAULT_INDUSTRIES = (
    "互联网",
    "制造业",
    "零售",
    "金融",
    "教育",
    "医疗",
    "物流",
    "建筑",
    "餐饮",
    "政府/事业单位",
    "其他",
)
DEFAULT_SOURCES = ("官网", "电话营销", "展会", "老客户介绍", "百度推广", "抖音", "微信", "公海领取", "其他")
