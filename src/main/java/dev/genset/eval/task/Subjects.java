package dev.genset.eval.task;

import java.util.Map;

/** Chinese names of the C-Eval and CMMLU subjects, which their prompts' descriptions use. */
final class Subjects {
    private Subjects() {}

    static final Map<String, String> CEVAL = Map.ofEntries(
            Map.entry("computer_network", "计算机网络"), Map.entry("operating_system", "操作系统"),
            Map.entry("computer_architecture", "计算机组成"), Map.entry("college_programming", "大学编程"),
            Map.entry("college_physics", "大学物理"), Map.entry("college_chemistry", "大学化学"),
            Map.entry("advanced_mathematics", "高等数学"), Map.entry("probability_and_statistics", "概率统计"),
            Map.entry("discrete_mathematics", "离散数学"), Map.entry("electrical_engineer", "注册电气工程师"),
            Map.entry("metrology_engineer", "注册计量师"), Map.entry("high_school_mathematics", "高中数学"),
            Map.entry("high_school_physics", "高中物理"), Map.entry("high_school_chemistry", "高中化学"),
            Map.entry("high_school_biology", "高中生物"), Map.entry("middle_school_mathematics", "初中数学"),
            Map.entry("middle_school_biology", "初中生物"), Map.entry("middle_school_physics", "初中物理"),
            Map.entry("middle_school_chemistry", "初中化学"), Map.entry("veterinary_medicine", "兽医学"),
            Map.entry("college_economics", "大学经济学"), Map.entry("business_administration", "工商管理"),
            Map.entry("marxism", "马克思主义基本原理"), Map.entry("mao_zedong_thought", "毛泽东思想和中国特色社会主义理论体系概论"),
            Map.entry("education_science", "教育学"), Map.entry("teacher_qualification", "教师资格"),
            Map.entry("high_school_politics", "高中政治"), Map.entry("high_school_geography", "高中地理"),
            Map.entry("middle_school_politics", "初中政治"), Map.entry("middle_school_geography", "初中地理"),
            Map.entry("modern_chinese_history", "近代史纲要"), Map.entry("ideological_and_moral_cultivation", "思想道德修养与法律基础"),
            Map.entry("logic", "逻辑学"), Map.entry("law", "法学"),
            Map.entry("chinese_language_and_literature", "中国语言文学"), Map.entry("art_studies", "艺术学"),
            Map.entry("professional_tour_guide", "导游资格"), Map.entry("legal_professional", "法律职业资格"),
            Map.entry("high_school_chinese", "高中语文"), Map.entry("high_school_history", "高中历史"),
            Map.entry("middle_school_history", "初中历史"), Map.entry("civil_servant", "公务员"),
            Map.entry("sports_science", "体育学"), Map.entry("plant_protection", "植物保护"),
            Map.entry("basic_medicine", "基础医学"), Map.entry("clinical_medicine", "临床医学"),
            Map.entry("urban_and_rural_planner", "注册城乡规划师"), Map.entry("accountant", "注册会计师"),
            Map.entry("fire_engineer", "注册消防工程师"), Map.entry("environmental_impact_assessment_engineer", "环境影响评价工程师"),
            Map.entry("tax_accountant", "税务师"), Map.entry("physician", "医师资格"));

    static final Map<String, String> CMMLU = Map.ofEntries(
            Map.entry("agronomy", "农学"), Map.entry("anatomy", "解剖学"), Map.entry("ancient_chinese", "古汉语"),
            Map.entry("arts", "艺术学"), Map.entry("astronomy", "天文学"), Map.entry("business_ethics", "商业伦理"),
            Map.entry("chinese_civil_service_exam", "中国公务员考试"), Map.entry("chinese_driving_rule", "中国驾驶规则"),
            Map.entry("chinese_food_culture", "中国饮食文化"), Map.entry("chinese_foreign_policy", "中国外交政策"),
            Map.entry("chinese_history", "中国历史"), Map.entry("chinese_literature", "中国文学"),
            Map.entry("chinese_teacher_qualification", "中国教师资格"), Map.entry("clinical_knowledge", "临床知识"),
            Map.entry("college_actuarial_science", "大学精算学"), Map.entry("college_education", "大学教育学"),
            Map.entry("college_engineering_hydrology", "大学工程水文学"), Map.entry("college_law", "大学法律"),
            Map.entry("college_mathematics", "大学数学"), Map.entry("college_medical_statistics", "大学医学统计"),
            Map.entry("college_medicine", "大学医学"), Map.entry("computer_science", "计算机科学"),
            Map.entry("computer_security", "计算机安全"), Map.entry("conceptual_physics", "概念物理学"),
            Map.entry("construction_project_management", "建设工程管理"), Map.entry("economics", "经济学"),
            Map.entry("education", "教育学"), Map.entry("electrical_engineering", "电气工程"),
            Map.entry("elementary_chinese", "小学语文"), Map.entry("elementary_commonsense", "小学常识"),
            Map.entry("elementary_information_and_technology", "小学信息技术"), Map.entry("elementary_mathematics", "初等数学"),
            Map.entry("ethnology", "民族学"), Map.entry("food_science", "食品科学"), Map.entry("genetics", "遗传学"),
            Map.entry("global_facts", "全球事实"), Map.entry("high_school_biology", "高中生物"),
            Map.entry("high_school_chemistry", "高中化学"), Map.entry("high_school_geography", "高中地理"),
            Map.entry("high_school_mathematics", "高中数学"), Map.entry("high_school_physics", "高中物理学"),
            Map.entry("high_school_politics", "高中政治"), Map.entry("human_sexuality", "人类性行为"),
            Map.entry("international_law", "国际法学"), Map.entry("journalism", "新闻学"), Map.entry("jurisprudence", "法理学"),
            Map.entry("legal_and_moral_basis", "法律与道德基础"), Map.entry("logical", "逻辑学"),
            Map.entry("machine_learning", "机器学习"), Map.entry("management", "管理学"), Map.entry("marketing", "市场营销"),
            Map.entry("marxist_theory", "马克思主义理论"), Map.entry("modern_chinese", "现代汉语"), Map.entry("nutrition", "营养学"),
            Map.entry("philosophy", "哲学"), Map.entry("professional_accounting", "专业会计"), Map.entry("professional_law", "专业法学"),
            Map.entry("professional_medicine", "专业医学"), Map.entry("professional_psychology", "专业心理学"),
            Map.entry("public_relations", "公共关系"), Map.entry("security_study", "安全研究"), Map.entry("sociology", "社会学"),
            Map.entry("sports_science", "体育学"), Map.entry("traditional_chinese_medicine", "中医中药"), Map.entry("virology", "病毒学"),
            Map.entry("world_history", "世界历史"), Map.entry("world_religions", "世界宗教"));
}
