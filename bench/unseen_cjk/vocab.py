"""The words the unseen generator builds names and addresses from, with their pinyin,
English and traditional forms, written by hand (no converter: the generator must not share
tools with the matcher it tests)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    """A prefecture-level city: province, city, districts, area code, postcode prefix."""

    province: str
    province_py: str
    city: str
    city_py: str
    area: str
    post: str
    districts: tuple[tuple[str, str], ...]

    @property
    def municipality(self) -> bool:
        """Beijing, Tianjin, Shanghai, Chongqing: the city is its own province."""
        return self.province == self.city


def _d(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(p.split(":")) for p in text.split())  # type: ignore[misc]


CITIES: tuple[City, ...] = (
    City(
        "北京",
        "Beijing",
        "北京",
        "Beijing",
        "010",
        "100",
        _d("朝阳:Chaoyang 海淀:Haidian 丰台:Fengtai 东城:Dongcheng"),
    ),
    City(
        "天津",
        "Tianjin",
        "天津",
        "Tianjin",
        "022",
        "300",
        _d("河西:Hexi 南开:Nankai 和平:Heping 河东:Hedong"),
    ),
    City(
        "上海",
        "Shanghai",
        "上海",
        "Shanghai",
        "021",
        "200",
        _d("徐汇:Xuhui 静安:Jing'an 闵行:Minhang 长宁:Changning"),
    ),
    City(
        "重庆",
        "Chongqing",
        "重庆",
        "Chongqing",
        "023",
        "400",
        _d("渝中:Yuzhong 江北:Jiangbei 南岸:Nan'an"),
    ),
    City(
        "广东",
        "Guangdong",
        "广州",
        "Guangzhou",
        "020",
        "510",
        _d("天河:Tianhe 越秀:Yuexiu 海珠:Haizhu 白云:Baiyun"),
    ),
    City(
        "广东",
        "Guangdong",
        "深圳",
        "Shenzhen",
        "0755",
        "518",
        _d("南山:Nanshan 福田:Futian 宝安:Bao'an 龙岗:Longgang"),
    ),
    City(
        "浙江",
        "Zhejiang",
        "杭州",
        "Hangzhou",
        "0571",
        "310",
        _d("西湖:Xihu 上城:Shangcheng 滨江:Binjiang 余杭:Yuhang"),
    ),
    City(
        "浙江",
        "Zhejiang",
        "温州",
        "Wenzhou",
        "0577",
        "325",
        _d("鹿城:Lucheng 瓯海:Ouhai 龙湾:Longwan"),
    ),
    City(
        "浙江",
        "Zhejiang",
        "宁波",
        "Ningbo",
        "0574",
        "315",
        _d("鄞州:Yinzhou 海曙:Haishu 江北:Jiangbei"),
    ),
    City(
        "江苏", "Jiangsu", "南京", "Nanjing", "025", "210", _d("鼓楼:Gulou 玄武:Xuanwu 建邺:Jianye")
    ),
    City(
        "江苏", "Jiangsu", "苏州", "Suzhou", "0512", "215", _d("姑苏:Gusu 吴中:Wuzhong 虎丘:Huqiu")
    ),
    City(
        "江苏", "Jiangsu", "无锡", "Wuxi", "0510", "214", _d("梁溪:Liangxi 滨湖:Binhu 新吴:Xinwu")
    ),
    City(
        "山东",
        "Shandong",
        "济南",
        "Jinan",
        "0531",
        "250",
        _d("历下:Lixia 市中:Shizhong 槐荫:Huaiyin"),
    ),
    City(
        "山东",
        "Shandong",
        "青岛",
        "Qingdao",
        "0532",
        "266",
        _d("市南:Shinan 市北:Shibei 黄岛:Huangdao"),
    ),
    City(
        "湖北",
        "Hubei",
        "武汉",
        "Wuhan",
        "027",
        "430",
        _d("江汉:Jianghan 武昌:Wuchang 洪山:Hongshan"),
    ),
    City(
        "四川",
        "Sichuan",
        "成都",
        "Chengdu",
        "028",
        "610",
        _d("锦江:Jinjiang 武侯:Wuhou 青羊:Qingyang"),
    ),
    City("福建", "Fujian", "厦门", "Xiamen", "0592", "361", _d("思明:Siming 湖里:Huli")),
    City("福建", "Fujian", "福州", "Fuzhou", "0591", "350", _d("鼓楼:Gulou 台江:Taijiang")),
    City(
        "河南",
        "Henan",
        "郑州",
        "Zhengzhou",
        "0371",
        "450",
        _d("金水:Jinshui 二七:Erqi 中原:Zhongyuan"),
    ),
    City(
        "湖南",
        "Hunan",
        "长沙",
        "Changsha",
        "0731",
        "410",
        _d("岳麓:Yuelu 芙蓉:Furong 天心:Tianxin"),
    ),
    City(
        "陕西", "Shaanxi", "西安", "Xi'an", "029", "710", _d("雁塔:Yanta 碑林:Beilin 未央:Weiyang")
    ),
    City(
        "辽宁",
        "Liaoning",
        "大连",
        "Dalian",
        "0411",
        "116",
        _d("中山:Zhongshan 西岗:Xigang 沙河口:Shahekou"),
    ),
)

#: industry word, English as companies translate it, traditional form
INDUSTRIES: tuple[tuple[str, str, str], ...] = (
    ("机械", "Machinery", "機械"),
    ("贸易", "Trading", "貿易"),
    ("电子", "Electronics", "電子"),
    ("物流", "Logistics", "物流"),
    ("科技", "Technology", "科技"),
    ("医药", "Pharmaceutical", "醫藥"),
    ("纺织", "Textile", "紡織"),
    ("食品", "Food", "食品"),
    ("化工", "Chemical", "化工"),
    ("建材", "Building Materials", "建材"),
    ("服饰", "Apparel", "服飾"),
    ("汽配", "Auto Parts", "汽配"),
    ("五金", "Hardware", "五金"),
    ("包装", "Packaging", "包裝"),
    ("家具", "Furniture", "家具"),
    ("环保", "Environmental Protection", "環保"),
    ("能源", "Energy", "能源"),
    ("印刷", "Printing", "印刷"),
)

#: legal form, how English-speaking systems write it
LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "有限公司": ("Co., Ltd.", "Co., Ltd.", "Co. Ltd", "Company Limited", "Limited", "Ltd."),
    "有限责任公司": ("Co., Ltd.", "Co., Ltd.", "Limited Liability Company", "LLC"),
    "股份有限公司": ("Co., Ltd.", "Corp.", "Corporation", "Inc.", "Joint Stock Co., Ltd."),
    "集团有限公司": ("Group Co., Ltd.", "Group Corp.", "Group Limited"),
}

BRAND_CHARS = (
    "恒:heng 通:tong 明:ming 达:da 瑞:rui 安:an 华:hua 信:xin 鑫:xin 源:yuan 宏:hong 远:yuan "
    "金:jin 盛:sheng 永:yong 泰:tai 德:de 润:run 嘉:jia 禾:he 天:tian 成:cheng 博:bo 海:hai "
    "兴:xing 隆:long 丰:feng 富:fu 祥:xiang 和:he 顺:shun 昌:chang 万:wan 佳:jia 创:chuang "
    "宇:yu 凯:kai 龙:long 飞:fei 腾:teng 辉:hui 方:fang 正:zheng 联:lian 合:he 美:mei 亚:ya "
    "光:guang 锦:jin 悦:yue 聚:ju 友:you"
)

SURNAMES = (
    "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 吴:wu 周:zhou 徐:xu "
    "孙:sun 马:ma 朱:zhu 胡:hu 郭:guo 何:he 高:gao 林:lin 罗:luo 郑:zheng 梁:liang 谢:xie "
    "宋:song 唐:tang 许:xu 韩:han 冯:feng 邓:deng 曹:cao 彭:peng 曾:zeng 肖:xiao 田:tian "
    "董:dong 袁:yuan 潘:pan 蒋:jiang 蔡:cai 杜:du 叶:ye 程:cheng 苏:su 魏:wei 吕:lv 丁:ding "
    "任:ren 沈:shen 姚:yao 卢:lu 姜:jiang 崔:cui 钟:zhong 谭:tan 陆:lu 汪:wang 范:fan "
    "石:shi 廖:liao 贾:jia 夏:xia 韦:wei 傅:fu 方:fang 白:bai 邹:zou 孟:meng 熊:xiong "
    "秦:qin 邱:qiu 江:jiang 尹:yin 薛:xue 段:duan 雷:lei 侯:hou 龙:long 史:shi 陶:tao "
    "黎:li 贺:he 顾:gu 毛:mao 郝:hao 龚:gong 邵:shao 钱:qian 严:yan 武:wu 戴:dai 孔:kong"
)

GIVEN_CHARS = (
    "建:jian 华:hua 伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang "
    "勇:yong 艳:yan 杰:jie 娟:juan 涛:tao 明:ming 超:chao 秀:xiu 霞:xia 平:ping 刚:gang "
    "桂:gui 英:ying 文:wen 辉:hui 玲:ling 红:hong 波:bo 鹏:peng 宇:yu 浩:hao 婷:ting 雪:xue "
    "燕:yan 斌:bin 宁:ning 丹:dan 凯:kai 峰:feng 国:guo 志:zhi 海:hai 东:dong 林:lin "
    "晓:xiao 春:chun 梅:mei 云:yun 飞:fei 玉:yu 兰:lan 俊:jun 成:cheng 新:xin 亮:liang "
    "琳:lin 颖:ying 欣:xin 佳:jia 晨:chen"
)

#: street, its pinyin stem, and the English word for its kind
STREETS: tuple[tuple[str, str, str], ...] = (
    ("友谊路", "Youyi", "Road"),
    ("人民路", "Renmin", "Road"),
    ("中山路", "Zhongshan", "Road"),
    ("解放路", "Jiefang", "Road"),
    ("建设路", "Jianshe", "Road"),
    ("长江路", "Changjiang", "Road"),
    ("黄河路", "Huanghe", "Road"),
    ("新华路", "Xinhua", "Road"),
    ("胜利路", "Shengli", "Road"),
    ("文化路", "Wenhua", "Road"),
    ("工业大道", "Gongye", "Avenue"),
    ("滨江大道", "Binjiang", "Avenue"),
    ("青年街", "Qingnian", "Street"),
    ("东风路", "Dongfeng", "Road"),
    ("光明街", "Guangming", "Street"),
    ("科技园路", "Kejiyuan", "Road"),
)

#: office buildings several companies share
BUILDINGS: tuple[tuple[str, str], ...] = (
    ("国贸大厦", "Guomao Tower"),
    ("金融中心", "Financial Center"),
    ("科技大厦", "Science and Technology Building"),
    ("世纪广场", "Century Plaza"),
    ("创业园", "Entrepreneurship Park"),
    ("商务中心", "Business Center"),
)

#: simplified -> traditional for every character above that has a traditional form
_S2T_PAIRS = (
    "庆慶 广廣 东東 温溫 宁寧 苏蘇 无無 锡錫 济濟 岛島 汉漢 门門 厦廈 郑鄭 长長 陕陝 辽遼 "
    "连連 阳陽 区區 县縣 丰豐 汇匯 静靜 闵閔 龙龍 宝寶 岗崗 滨濱 瓯甌 湾灣 楼樓 邺鄴 吴吳 "
    "历歷 荫蔭 黄黃 锦錦 台臺 机機 贸貿 电電 医醫 药藥 纺紡 织織 饰飾 装裝 环環 农農 业業 "
    "责責 团團 达達 华華 远遠 润潤 兴興 顺順 万萬 创創 凯凱 飞飛 腾騰 辉輝 联聯 亚亞 悦悅 "
    "张張 刘劉 陈陳 杨楊 赵趙 孙孫 马馬 罗羅 谢謝 许許 韩韓 冯馮 邓鄧 蒋蔣 叶葉 吕呂 "
    "卢盧 钟鍾 谭譚 陆陸 贾賈 韦韋 邹鄒 贺賀 顾顧 龚龔 钱錢 严嚴 伟偉 丽麗 强強 军軍 "
    "艳豔 杰傑 涛濤 刚剛 红紅 鹏鵬 晓曉 云雲 兰蘭 颖穎 国國 谊誼 设設 胜勝 风風 园園 "
    "厦廈 纪紀 场場 号號 层層 务務 心心 路路 码碼 气氣 车車 产產 实實 际際 开開"
)
S2T: dict[str, str] = {p[0]: p[1] for p in _S2T_PAIRS.split()}


def pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``"恒:heng 通:tong"`` as ``(("恒", "heng"), ("通", "tong"))``."""
    return tuple(tuple(p.split(":")) for p in text.split())  # type: ignore[misc]
