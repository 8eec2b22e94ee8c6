//! The header rows of the CSV sources, exactly as providers deliver them
//! (`data/raw-formats.md`). One definition shared by the validators, which require them,
//! and the sample-data generator, which writes them.

pub const SELF_MONITORING: [&str; 14] = [
    "统一社会信用代码",
    "企业名称",
    "监测点位",
    "监测时间",
    "监测项目",
    "监测结果",
    "标准限值",
    "单位",
    "是否达标",
    "超标倍数",
    "执行标准",
    "排放去向",
    "排放方式",
    "未监测原因",
];

pub const VEHICLES: [&str; 9] = [
    "运营单位统一社会信用代码",
    "运营单位名称",
    "行业",
    "车辆编号",
    "燃料类型",
    "排放阶段",
    "检验日期",
    "检验方法",
    "检验结果",
];

pub const SEWAGE: [&str; 11] = [
    "统一社会信用代码",
    "污水处理厂名称",
    "日期",
    "执行标准",
    "处理水量(m3/d)",
    "化学需氧量(mg/L)",
    "五日生化需氧量(mg/L)",
    "悬浮物(mg/L)",
    "氨氮(mg/L)",
    "总氮(mg/L)",
    "总磷(mg/L)",
];

pub const MSW: [&str; 7] = [
    "统一社会信用代码",
    "设施名称",
    "日期",
    "处理方式",
    "进场量(t)",
    "无害化处理量(t)",
    "资源化产品量(t)",
];

pub const MEDICAL_WASTE: [&str; 5] = [
    "区",
    "日期",
    "处置单位统一社会信用代码",
    "收集量(t)",
    "处置量(t)",
];

pub const CONSTRUCTION_WASTE: [&str; 7] = [
    "统一社会信用代码",
    "设施名称",
    "区",
    "日期",
    "进场量(t)",
    "再生产品量(t)",
    "再生产品类型",
];

pub const LIVESTOCK: [&str; 13] = [
    "统一社会信用代码",
    "养殖场名称",
    "区",
    "畜种",
    "存栏量",
    "粪污处理设施配套",
    "设施正常运行",
    "粪污产生量(t)",
    "还田利用量(t)",
    "有机肥利用量(t)",
    "能源化利用量(t)",
    "委托第三方处理",
    "第三方处理量(t)",
];
