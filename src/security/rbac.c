/*
 * The permission names and the built-in roles of the glossary.
 */
#include "security/rbac.h"

#include <string.h>

#include "base/id.h"
#include "db/db.h"

static const struct vocab_word perms[PERM__COUNT] = {
    [PERM_NONE] = {NULL, NULL},
    [PERM_REGION_READ] = {"region.read", "查看区划"},
    [PERM_REGION_WRITE] = {"region.write", "维护区划"},
    [PERM_PERSON_READ] = {"person.read", "查看人员"},
    [PERM_PERSON_WRITE] = {"person.write", "登记和修改人员"},
    [PERM_PERSON_DELETE] = {"person.delete", "删除人员"},
    [PERM_PERSON_REVEAL] = {"person.reveal", "查看完整个人信息"},
    [PERM_PLACE_READ] = {"place.read", "查看场所"},
    [PERM_PLACE_WRITE] = {"place.write", "维护场所"},
    [PERM_ENTERPRISE_READ] = {"enterprise.read", "查看企业"},
    [PERM_ENTERPRISE_WRITE] = {"enterprise.write", "维护企业"},
    [PERM_USER_READ] = {"user.read", "查看用户和部门"},
    [PERM_USER_WRITE] = {"user.write", "管理用户和部门"},
    [PERM_ROLE_READ] = {"role.read", "查看角色"},
    [PERM_ROLE_WRITE] = {"role.write", "管理角色和权限"},
    [PERM_AUDIT_READ] = {"audit.read", "查阅审计日志"},
    [PERM_KEY_ADMIN] = {"key.admin", "管理密钥"},
    [PERM_CONFIG] = {"config.write", "系统配置"},
    [PERM_SELF] = {"self", "本人信息"},
    [PERM_HEALTH_READ] = {"health.read", "查看健康申报和体温"},
    [PERM_HEALTH_WRITE] = {"health.write", "代为健康申报和登记体温"},
    [PERM_CODE_READ] = {"code.read", "查看健康码"},
    [PERM_CODE_RULES] = {"code.rules", "管理健康码赋码规则"},
    [PERM_ISOLATION_WRITE] = {"isolation.write", "登记隔离"},
    [PERM_TRACE_WRITE] = {"trace.write", "登记密接和中高风险地区旅居"},
    [PERM_NAT_WRITE] = {"nat.write", "登记核酸检测结果"},
    [PERM_ZONE_WRITE] = {"zone.write", "划定封控区、管控区和风险地区"},
    [PERM_VENUE_READ] = {"venue.read", "查看场所码点位"},
    [PERM_VENUE_WRITE] = {"venue.write", "维护场所码点位"},
    [PERM_CAMERA_READ] = {"camera.read", "查看视频监控台账"},
    [PERM_CAMERA_WRITE] = {"camera.write", "维护视频监控台账"},
    [PERM_CAMERA_PLAY] = {"camera.play", "播放视频监控"},
    [PERM_CAMERA_PLAY_ISOLATION] = {"camera.play_isolation", "居家隔离视频核查"},
    [PERM_VISITOR_CONFIRM] = {"visitor.confirm", "审核访客"},
    [PERM_VISITOR_SCAN] = {"visitor.scan", "核验访客码"},
    [PERM_VEHICLE_READ] = {"vehicle.read", "查看车辆和车辆通行记录"},
    [PERM_VEHICLE_WRITE] = {"vehicle.write", "登记车辆"},
    [PERM_VEHICLE_GATE] = {"vehicle.gate", "上报车牌识别结果"},
    [PERM_DEVICE_READ] = {"device.read", "查看测温和门禁设备"},
    [PERM_DEVICE_WRITE] = {"device.write", "维护测温和门禁设备"},
    [PERM_ACCESS_SCAN] = {"access.scan", "卡口扫码核验"},
    [PERM_ACCESS_READ] = {"access.read", "查看出入记录"},
    [PERM_ALERT_READ] = {"alert.read", "查看告警"},
    [PERM_ALERT_ACK] = {"alert.ack", "处置告警"},
    [PERM_CASE_REPORT] = {"case.report", "疫情上报（巡查、摸排、卡口）"},
    [PERM_CASE_READ] = {"case.read", "查看疫情事件和隔离观察名单"},
    [PERM_CASE_MANAGE] = {"case.manage", "处置疫情事件、维护隔离观察名单"},
    [PERM_CASE_STATUS] = {"case.status", "变更疫情人员状态"},
    [PERM_CASE_RULES] = {"case.rules", "维护分派、体征核查和隔离期规则"},
    [PERM_CASE_IMPORT] = {"case.import", "导入导出隔离观察名单"},
    [PERM_CHECK_WRITE] = {"check.write", "录入体征核查"},
    [PERM_CERT_VERIFY] = {"cert.verify", "核验解除隔离证明"},
    [PERM_TASK_READ] = {"task.read", "查看任务"},
    [PERM_TASK_DISPATCH] = {"task.dispatch", "派遣任务"},
    [PERM_TASK_WORK] = {"task.work", "接收和办理任务"},
    [PERM_STATS_READ] = {"stats.read", "查看统计"},
    [PERM_REPORT_DEFINE] = {"report.define", "配置自定义报表"},
    [PERM_REPORT_RUN] = {"report.run", "运行和导出自定义报表"},
    [PERM_NAT_READ] = {"nat.read", "查看核酸点位、打卡和应检计划"},
    [PERM_NAT_SITE] = {"nat.site", "维护核酸点位"},
    [PERM_NAT_PLAN] = {"nat.plan", "维护应检计划和行业"},
    [PERM_NAT_CORRECT] = {"nat.correct", "修改街道实检统计"},
    [PERM_HOTLINE_READ] = {"hotline.read", "查看接诉即办工单和统计"},
    [PERM_HOTLINE_IMPORT] = {"hotline.import", "导入接诉即办工单"},
    [PERM_HOTLINE_RULES] = {"hotline.rules", "维护接诉即办抽取规则"},
    [PERM_NAT_LOOKUP] = {"nat.lookup", "查询核酸检测结果（个人及批量）"},
    [PERM_NAT_TRANSPORT] = {"nat.transport", "核酸转运交接"},
    [PERM_NAT_RECEIVE] = {"nat.receive", "核酸样本签收"},
    [PERM_NAT_INGEST] = {"nat.ingest", "转运数据接入"},
    [PERM_NAT_RESULT] = {"nat.result", "录入核酸检测结果"},
    [PERM_COMMISSION_INGEST] = {"commission.ingest", "卫健数据接入（医生、流调）"},
    [PERM_COMMISSION_READ] = {"commission.read", "查看卫健医生和流调信息"},
    [PERM_TRACE_READ] = {"trace.read", "查看重点人员行程与密接"},
    [PERM_TRACE_RULES] = {"trace.rules", "编辑密接判定规则"},
    [PERM_ITINERARY_VERIFY] = {"itinerary.verify", "核验行程卡"},
    [PERM_MONITOR_READ] = {"monitor.read", "查看监测预警规则和预警"},
    [PERM_MONITOR_WRITE] = {"monitor.write", "维护监测预警规则"},
    [PERM_PUBLISH_EDIT] = {"publish.edit", "编辑疫情发布内容"},
    [PERM_PUBLISH_APPROVE] = {"publish.approve", "审核疫情发布内容"},
    [PERM_EXCHANGE_ADMIN] = {"exchange.admin", "管理数据交换调用方和对接系统"},
    [PERM_EXCHANGE_READ] = {"exchange.read", "查看数据交换监控"},
    [PERM_SERVICE_READ] = {"service.read", "查看居民服务（紧急呼叫、值班、帮扶）"},
    [PERM_SERVICE_MANAGE] = {"service.manage", "维护值班表和居民服务"},
    [PERM_ASSIST_WORK] = {"assist.work", "处理求助"},
    [PERM_NOTICE_READ] = {"notice.read", "查看通知、阅读回执、文章和问卷结果"},
    [PERM_NOTICE_WRITE] = {"notice.write", "发布通知、文章和问卷，撤回通知和提醒未读"},
    [PERM_SHOP_MANAGE] = {"shop.manage", "管理生活物资商户和订单、代订团购"},
    [PERM_SHOP_SELL] = {"shop.sell", "商户：维护商品库存、处理订单"},
    [PERM_PARCEL_RECORD] = {"parcel.record", "登记快递外卖到达"},
    [PERM_PARCEL_READ] = {"parcel.read", "查看辖区快递外卖待取情况"},
    [PERM_FACE_MANAGE] = {"face.manage", "管理人脸识别通行录入"},
    [PERM_PARKING_READ] = {"parking.read", "查看车库与车位"},
    [PERM_PARKING_WRITE] = {"parking.write", "维护车库与盘点车位"},
    [PERM_SUPPLY_READ] = {"supply.read", "查看物资目录、仓库库存、需求和供需平衡"},
    [PERM_SUPPLY_REPORT] = {"supply.report", "填报物资库存、产能和需求"},
    [PERM_SUPPLY_DISPATCH] = {"supply.dispatch", "物资调度、电子订货和物流跟踪"},
    [PERM_EMPLOYEE_READ] = {"employee.read", "查看企业员工和复工申请"},
    [PERM_EMPLOYEE_WRITE] = {"employee.write", "维护企业员工、提交复工申请"},
    [PERM_ENTERPRISE_REVIEW] = {"enterprise.review", "审核企业复工申请"},
    [PERM_VOLUNTEER_MANAGE] = {"volunteer.manage", "审核志愿者、发布志愿服务项目、登记服务时长"},
    [PERM_MEDICAL_READ] = {"medical.read", "查看医疗机构床位、ICU和检测能力及转送建议"},
    [PERM_MEDICAL_REPORT] = {"medical.report", "填报医疗机构床位、ICU和检测能力"},
    [PERM_SUPPLY_FULFIL] = {"supply.fulfil", "供应商接单发货（本企业的电子订货）"},
    [PERM_ENTERPRISE_MONITOR] = {"enterprise.monitor", "查看复工复产监测"},
    [PERM_STAFF_PASS_VERIFY] = {"employee.pass_verify", "核验企业员工通行证"},
    [PERM_SUPPLY_REQUEST] = {"supply.request", "提交和取消物资需求，签收送达辖区的物资"},
};

const struct vocab perm_vocab = VOCAB("permissions", "权限", perms);

enum perm perm_parse(const char *name)
{
    int p = vocab_parse(&perm_vocab, name);
    return p > 0 ? (enum perm)p : PERM_NONE;
}

const char *perm_name(enum perm p)
{
    return vocab_name(&perm_vocab, (size_t)p);
}

const char *perm_label(enum perm p)
{
    return vocab_label(&perm_vocab, (size_t)p);
}

static const struct vocab_word areas[] = {
    {"region", "区划"},         {"person", "人员"},
    {"place", "场所"},          {"enterprise", "企业"},
    {"user", "用户和部门"},     {"role", "角色"},
    {"audit", "审计"},          {"key", "密钥"},
    {"config", "系统"},         {"health", "健康申报"},
    {"code", "健康码"},         {"isolation", "隔离"},
    {"trace", "密接和旅居"},    {"nat", "核酸检测"},
    {"zone", "风险区域"},       {"venue", "场所码和卡口"},
    {"access", "通行"},         {"visitor", "访客"},
    {"vehicle", "车辆"},        {"device", "设备"},
    {"alert", "预警"},          {"self", "本人"},
    {"case", "疫情事件"},       {"check", "体征核查"},
    {"cert", "解除隔离证明"},   {"task", "任务"},
    {"stats", "统计"},          {"hotline", "接诉即办"},
    {"commission", "卫健数据"}, {"itinerary", "行程卡"},
    {"camera", "视频监控"},     {"report", "自定义报表"},
    {"monitor", "监测预警"},    {"publish", "疫情发布"},
    {"exchange", "数据交换"},   {"service", "居民服务"},
    {"assist", "帮扶"},         {"notice", "社区通知"},
    {"shop", "生活物资"},       {"parcel", "快递外卖"},
    {"face", "人脸识别通行"},   {"parking", "停车引导"},
    {"supply", "物资保障"},     {"employee", "企业员工"},
    {"volunteer", "志愿者"},    {"medical", "医疗资源"},
};

const struct vocab perm_area_vocab = VOCAB("permission_groups", "权限分组", areas);

const char *perm_area_label(const char *prefix)
{
    int i = vocab_parse(&perm_area_vocab, prefix);
    return i < 0 ? NULL : areas[i].label;
}

/* a role's grants: a list, so a set of any size initialises statically */
#define GRANTS(...) ((const enum perm[]){__VA_ARGS__, PERM_NONE})

const struct builtin_role builtin_roles[] = {
    /* region.read: residents choose their community from the tree; regions
     * hold no personal data, and a resident's scope is the root region */
    {"citizen", "市民", GRANTS(PERM_SELF, PERM_REGION_READ), false},
    {"enterprise", "企事业单位",
     GRANTS(PERM_SELF, PERM_ENTERPRISE_READ, PERM_PLACE_READ, PERM_SUPPLY_REPORT,
            PERM_EMPLOYEE_READ, PERM_EMPLOYEE_WRITE, PERM_SUPPLY_FULFIL, PERM_STAFF_PASS_VERIFY),
     false},
    /* grid workers verify at the door, register isolation and trace
     * contacts (seed 001 §4.1.7) */
    {"grid_worker", "网格员",
     GRANTS(PERM_REGION_READ, PERM_PERSON_READ, PERM_PERSON_WRITE, PERM_PLACE_READ,
            PERM_ENTERPRISE_READ, PERM_HEALTH_READ, PERM_HEALTH_WRITE, PERM_CODE_READ,
            PERM_ISOLATION_WRITE, PERM_TRACE_WRITE, PERM_ACCESS_SCAN, PERM_ACCESS_READ,
            PERM_ALERT_READ, PERM_ALERT_ACK, PERM_VISITOR_CONFIRM, PERM_VEHICLE_READ,
            PERM_VEHICLE_WRITE, PERM_DEVICE_READ, PERM_DEVICE_WRITE, PERM_VENUE_READ,
            PERM_VENUE_WRITE, PERM_CASE_REPORT, PERM_CASE_READ, PERM_TRACE_READ, PERM_CASE_STATUS,
            PERM_CERT_VERIFY, PERM_ITINERARY_VERIFY, PERM_TASK_WORK, PERM_SERVICE_READ,
            PERM_ASSIST_WORK, PERM_FACE_MANAGE, PERM_PARKING_READ, PERM_MEDICAL_READ),
     false},
    {"doctor", "社区医生",
     GRANTS(PERM_REGION_READ, PERM_PERSON_READ, PERM_HEALTH_READ, PERM_HEALTH_WRITE, PERM_CODE_READ,
            PERM_ISOLATION_WRITE, PERM_CASE_REPORT, PERM_CASE_READ, PERM_TRACE_READ,
            PERM_CHECK_WRITE, PERM_CERT_VERIFY, PERM_TASK_WORK, PERM_COMMISSION_READ,
            PERM_MEDICAL_READ),
     false},
    /* checkpoints measure temperatures and see codes at the gate */
    {"checkpoint_staff", "卡口人员",
     GRANTS(PERM_REGION_READ, PERM_PLACE_READ, PERM_HEALTH_WRITE, PERM_CODE_READ, PERM_VENUE_READ,
            PERM_ACCESS_SCAN, PERM_ALERT_READ, PERM_ALERT_ACK, PERM_VISITOR_SCAN, PERM_VEHICLE_READ,
            PERM_CASE_REPORT, PERM_CERT_VERIFY, PERM_ITINERARY_VERIFY, PERM_STAFF_PASS_VERIFY),
     false},
    /* community staff (社区工作人员, seed 001 §4.1, seed 002 二(二)2-3, 二(三)1)
     * keep their community's registry, confirm visitors and vehicles, run
     * its gates and devices and answer its alerts; no full values, no
     * administration, no zones or rules */
    {"community_staff", "社区工作人员",
     GRANTS(PERM_REGION_READ, PERM_PERSON_READ, PERM_PERSON_WRITE, PERM_PLACE_READ,
            PERM_ENTERPRISE_READ, PERM_HEALTH_READ, PERM_HEALTH_WRITE, PERM_CODE_READ,
            PERM_VENUE_READ, PERM_VENUE_WRITE, PERM_ACCESS_READ, PERM_ALERT_READ, PERM_ALERT_ACK,
            PERM_VISITOR_CONFIRM, PERM_VEHICLE_READ, PERM_VEHICLE_WRITE, PERM_DEVICE_READ,
            PERM_CASE_REPORT, PERM_CASE_READ, PERM_TRACE_READ, PERM_CASE_MANAGE, PERM_CASE_STATUS,
            PERM_CERT_VERIFY, PERM_ITINERARY_VERIFY, PERM_TASK_READ, PERM_TASK_DISPATCH,
            PERM_TASK_WORK, PERM_STATS_READ, PERM_NAT_READ, PERM_REPORT_RUN,
            PERM_CAMERA_PLAY_ISOLATION, PERM_MONITOR_READ, PERM_PUBLISH_EDIT, PERM_SERVICE_READ,
            PERM_SERVICE_MANAGE, PERM_ASSIST_WORK, PERM_NOTICE_READ, PERM_NOTICE_WRITE,
            PERM_SHOP_MANAGE, PERM_PARCEL_READ, PERM_FACE_MANAGE, PERM_PARKING_READ,
            PERM_PARKING_WRITE, PERM_SUPPLY_READ, PERM_SUPPLY_REPORT, PERM_VOLUNTEER_MANAGE,
            PERM_MEDICAL_READ, PERM_SUPPLY_REQUEST),
     false},
    /* street staff (街道工作人员) oversee the communities of their street:
     * the same lists read-only, plus reviewing visitors and handling alerts
     * when a community is short-handed */
    {"street_staff", "街道工作人员",
     GRANTS(PERM_REGION_READ, PERM_PERSON_READ, PERM_PLACE_READ, PERM_ENTERPRISE_READ,
            PERM_HEALTH_READ, PERM_CODE_READ, PERM_VENUE_READ, PERM_ACCESS_READ, PERM_ALERT_READ,
            PERM_ALERT_ACK, PERM_VISITOR_CONFIRM, PERM_VEHICLE_READ, PERM_DEVICE_READ,
            PERM_CASE_REPORT, PERM_CASE_READ, PERM_TRACE_READ, PERM_CERT_VERIFY,
            PERM_ITINERARY_VERIFY, PERM_TASK_READ, PERM_STATS_READ, PERM_NAT_READ, PERM_NAT_SITE,
            PERM_NAT_CORRECT, PERM_HOTLINE_READ, PERM_HOTLINE_IMPORT, PERM_NAT_LOOKUP,
            PERM_COMMISSION_READ, PERM_CAMERA_READ, PERM_REPORT_RUN, PERM_CAMERA_PLAY,
            PERM_MONITOR_READ, PERM_PUBLISH_EDIT, PERM_SERVICE_READ, PERM_NOTICE_READ,
            PERM_NOTICE_WRITE, PERM_SHOP_MANAGE, PERM_PARCEL_READ, PERM_PARKING_READ,
            PERM_SUPPLY_READ, PERM_SUPPLY_REPORT, PERM_EMPLOYEE_READ, PERM_ENTERPRISE_REVIEW,
            PERM_VOLUNTEER_MANAGE, PERM_MEDICAL_READ, PERM_ENTERPRISE_MONITOR, PERM_SUPPLY_REQUEST),
     false},
    /* site staff clock in and report queues at the sites of their scope */
    {"site_staff", "核酸点位人员",
     GRANTS(PERM_REGION_READ, PERM_PLACE_READ, PERM_NAT_WRITE, PERM_VENUE_READ, PERM_NAT_READ),
     false},
    {"lab", "检测机构",
     GRANTS(PERM_REGION_READ, PERM_NAT_WRITE, PERM_NAT_READ, PERM_NAT_RECEIVE, PERM_NAT_RESULT),
     false},
    /* couriers (转运人员) take sealed boxes over at the sites of their scope
     * and hand them to the laboratory, which signs for them */
    {"courier", "转运人员", GRANTS(PERM_REGION_READ, PERM_NAT_READ, PERM_NAT_TRANSPORT), false},
    {"command_center", "指挥中心",
     GRANTS(PERM_REGION_READ, PERM_REGION_WRITE, PERM_PERSON_READ, PERM_PERSON_WRITE,
            PERM_PERSON_DELETE, PERM_PERSON_REVEAL, PERM_PLACE_READ, PERM_PLACE_WRITE,
            PERM_ENTERPRISE_READ, PERM_ENTERPRISE_WRITE, PERM_USER_READ, PERM_HEALTH_READ,
            PERM_HEALTH_WRITE, PERM_CODE_READ, PERM_CODE_RULES, PERM_ISOLATION_WRITE,
            PERM_TRACE_WRITE, PERM_NAT_WRITE, PERM_ZONE_WRITE, PERM_ACCESS_SCAN, PERM_ACCESS_READ,
            PERM_ALERT_READ, PERM_ALERT_ACK, PERM_VISITOR_CONFIRM, PERM_VISITOR_SCAN,
            PERM_VEHICLE_READ, PERM_VEHICLE_WRITE, PERM_VEHICLE_GATE, PERM_DEVICE_READ,
            PERM_DEVICE_WRITE, PERM_VENUE_READ, PERM_VENUE_WRITE, PERM_CASE_REPORT, PERM_CASE_READ,
            PERM_TRACE_READ, PERM_CASE_MANAGE, PERM_CASE_STATUS, PERM_CASE_RULES, PERM_CASE_IMPORT,
            PERM_CHECK_WRITE, PERM_CERT_VERIFY, PERM_TASK_READ, PERM_TASK_DISPATCH, PERM_TASK_WORK,
            PERM_STATS_READ, PERM_NAT_READ, PERM_NAT_SITE, PERM_NAT_PLAN, PERM_NAT_CORRECT,
            PERM_HOTLINE_READ, PERM_HOTLINE_IMPORT, PERM_HOTLINE_RULES, PERM_NAT_LOOKUP,
            PERM_NAT_TRANSPORT, PERM_NAT_RECEIVE, PERM_NAT_INGEST, PERM_NAT_RESULT,
            PERM_COMMISSION_INGEST, PERM_COMMISSION_READ, PERM_TRACE_RULES, PERM_ITINERARY_VERIFY,
            PERM_CAMERA_READ, PERM_CAMERA_WRITE, PERM_REPORT_DEFINE, PERM_REPORT_RUN,
            PERM_CAMERA_PLAY, PERM_CAMERA_PLAY_ISOLATION, PERM_MONITOR_READ, PERM_MONITOR_WRITE,
            PERM_PUBLISH_EDIT, PERM_PUBLISH_APPROVE, PERM_EXCHANGE_READ, PERM_SERVICE_READ,
            PERM_SERVICE_MANAGE, PERM_ASSIST_WORK, PERM_NOTICE_READ, PERM_NOTICE_WRITE,
            PERM_SHOP_MANAGE, PERM_PARCEL_READ, PERM_FACE_MANAGE, PERM_PARKING_READ,
            PERM_PARKING_WRITE, PERM_SUPPLY_READ, PERM_SUPPLY_REPORT, PERM_SUPPLY_DISPATCH,
            PERM_EMPLOYEE_READ, PERM_ENTERPRISE_REVIEW, PERM_VOLUNTEER_MANAGE, PERM_MEDICAL_READ,
            PERM_MEDICAL_REPORT, PERM_ENTERPRISE_MONITOR, PERM_SUPPLY_REQUEST),
     false},
    {"leader", "领导",
     GRANTS(PERM_REGION_READ, PERM_PERSON_READ, PERM_PLACE_READ, PERM_ENTERPRISE_READ,
            PERM_HEALTH_READ, PERM_CODE_READ, PERM_VENUE_READ, PERM_ACCESS_READ, PERM_ALERT_READ,
            PERM_CASE_READ, PERM_TRACE_READ, PERM_TASK_READ, PERM_STATS_READ, PERM_NAT_READ,
            PERM_HOTLINE_READ, PERM_CAMERA_READ, PERM_REPORT_RUN, PERM_CAMERA_PLAY,
            PERM_MONITOR_READ, PERM_PUBLISH_APPROVE, PERM_SUPPLY_READ, PERM_MEDICAL_READ,
            PERM_ENTERPRISE_MONITOR),
     false},
    {"system_admin", "系统管理员",
     GRANTS(PERM_USER_READ, PERM_USER_WRITE, PERM_ROLE_READ, PERM_REGION_READ, PERM_REGION_WRITE,
            PERM_CONFIG, PERM_EXCHANGE_READ),
     true},
    /* alerts: security events (an account over the exact-search limit)
     * are raised for this role to see and handle */
    /* region.read: the regions an exchange caller is granted are picked
     * from the tree */
    {"security_admin", "安全管理员",
     GRANTS(PERM_ROLE_READ, PERM_ROLE_WRITE, PERM_KEY_ADMIN, PERM_USER_READ, PERM_ALERT_READ,
            PERM_ALERT_ACK, PERM_EXCHANGE_ADMIN, PERM_EXCHANGE_READ, PERM_REGION_READ),
     true},
    {"audit_admin", "审计管理员", GRANTS(PERM_AUDIT_READ), true},
    {"exchange_client", "数据交换调用方",
     GRANTS(PERM_REGION_READ, PERM_VEHICLE_GATE, PERM_NAT_INGEST, PERM_COMMISSION_INGEST,
            PERM_ITINERARY_VERIFY),
     false},
    /* a daily-goods shop (商户, issue 14): its own goods and orders; the
     * account is created with the shop by community or street staff */
    {"shop", "商户", GRANTS(PERM_SHOP_SELL), false},
    /* parcels and take-away (快递外卖员, issue 14): records arrivals at the
     * buildings of its scope; not the courier of nucleic-acid boxes */
    {"delivery", "快递外卖员", GRANTS(PERM_REGION_READ, PERM_PARCEL_RECORD), false},
    /* a resident whose volunteer application community staff approved
     * (志愿者, issue 14): works the help requests assigned to them; the
     * resident keeps the citizen role for everything else */
    {"volunteer", "志愿者", GRANTS(PERM_ASSIST_WORK), false},
    /* hospital staff (医院工作人员, issue 14): report the beds, ICU beds and
     * testing capacity of the institutions of their scope (their hospital's
     * region), see the others' figures */
    {"hospital_staff", "医院工作人员",
     GRANTS(PERM_REGION_READ, PERM_PLACE_READ, PERM_MEDICAL_READ, PERM_MEDICAL_REPORT), false},
    {NULL, NULL, NULL, false},
};

perm_set perm_set_of(const enum perm *list)
{
    perm_set s = {{0}};
    for (; *list != PERM_NONE; list++)
        perm_set_add(&s, *list);
    return s;
}

perm_set builtin_role_perms(const struct builtin_role *r)
{
    return perm_set_of(r->grants);
}

const struct builtin_role *builtin_role_find(const char *key)
{
    for (const struct builtin_role *r = builtin_roles; r->key; r++)
        if (!strcmp(r->key, key))
            return r;
    return NULL;
}

err rbac_seed(db *d)
{
    err e = db_begin(d);
    if (e)
        return e;
    int64_t now = now_ms();
    for (const struct builtin_role *br = builtin_roles; br->key && !e; br++) {
        perm_set grants = builtin_role_perms(br);
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO roles (id, key, name, builtin, require_totp, created_at, "
                            "updated_at) VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT (key) DO UPDATE "
                            "SET builtin = 1, require_totp = excluded.require_totp",
                            &s)))
            break;
        db_bind_int64(s, 1, id_new());
        db_bind_text(s, 2, br->key);
        db_bind_text(s, 3, br->name);
        db_bind_int64(s, 4, br->require_totp);
        db_bind_int64(s, 5, now);
        db_bind_int64(s, 6, now);
        e = db_run(s, NULL);
        db_done(s);
        if (e || (e = db_prepare(d,
                                 "DELETE FROM role_permissions WHERE role_id = "
                                 "(SELECT id FROM roles WHERE key = ?)",
                                 &s)))
            break;
        db_bind_text(s, 1, br->key);
        e = db_run(s, NULL);
        db_done(s);
        for (int p = 1; p < PERM__COUNT && !e; p++) {
            if (!perm_set_has(grants, (enum perm)p))
                continue;
            if ((e = db_prepare(d,
                                "INSERT INTO role_permissions (role_id, permission) "
                                "SELECT id, ? FROM roles WHERE key = ?",
                                &s)))
                break;
            db_bind_text(s, 1, perm_name((enum perm)p));
            db_bind_text(s, 2, br->key);
            e = db_run(s, NULL);
            db_done(s);
        }
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}
