/*
 * The workbench's entries and their counts: a declarative table (what an
 * entry is, who may see it, where it leads, the one SQL statement that
 * counts it) and the loop that runs the statements the caller may see.
 *
 * Every statement about regional records binds the scope (lo <= region_code
 * < hi); those about today bind the start of the day in China time.
 * The cost of each is in docs/web.md (工作台); the expensive one is "people
 * not declared today" on a large scope: one pass over the scope's live
 * people on persons_region (covering since sql/014) with one probe of
 * declarations_person per person, no table row read (about 0.2 s for a
 * million people on SQLite).
 */
#include "workbench/workbench.h"

#include "db/catchup.h"
#include "base/id.h"
#include "base/time.h"

/* What a statement's parameters are, in order (B_END after the last):
 * B_WEEK is the start of the China day six days ago (bound as computed:
 * PostgreSQL types `? - n` by n, an integer too small for a time). */
enum bind { B_END = 0, B_LO, B_HI, B_DAY, B_WEEK, B_NOW, B_DAY_ID, B_USER };
#define SCOPED B_LO, B_HI

struct wb_def {
    const char *key, *title, *unit;
    bool todo;
    enum perm perms[2]; /* shown to holders of either; PERM_NONE: unused slot */
    const char *console, *mobile;
    enum bind binds[4];
    const char *sql;
};

static const struct wb_def defs[WB__COUNT] = {
    [WB_VISITORS_PENDING] = {"visitors_pending",
                             "待审核访客",
                             "人",
                             true,
                             {PERM_VISITOR_CONFIRM},
                             "/visitors?status=pending",
                             "/staff/visitors",
                             {SCOPED},
                             "SELECT COUNT(*) FROM visitors WHERE region_code >= ? AND "
                             "region_code < ? AND status = 'pending' AND enterprise_id = 0"},
    [WB_ALERTS_OPEN] = {"alerts_open",
                        "未处置预警",
                        "条",
                        true,
                        {PERM_ALERT_READ},
                        "/alerts?acked=0",
                        "/staff/alerts",
                        {SCOPED},
                        "SELECT COUNT(*) FROM alerts WHERE region_code >= ? AND region_code < ? "
                        "AND acked_at = 0"},
    [WB_UNDECLARED_TODAY] = {"undeclared_today",
                             "今日未健康申报",
                             "人",
                             true,
                             {PERM_HEALTH_READ},
                             "/people",
                             NULL,
                             {SCOPED, B_DAY},
                             "SELECT COUNT(*) FROM persons p WHERE p.region_code >= ? AND "
                             "p.region_code < ? AND p.deleted_at = 0 AND NOT EXISTS (SELECT 1 "
                             "FROM declarations d WHERE d.person_id = p.id AND d.at >= ?)"},
    [WB_DEVICES_SILENT] = {"devices_silent",
                           "离线设备",
                           "台",
                           true,
                           {PERM_DEVICE_READ},
                           "/devices",
                           NULL,
                           {SCOPED, B_NOW},
                           "SELECT COUNT(*) FROM devices WHERE region_code >= ? AND region_code < "
                           "? AND deleted_at = 0 AND enabled = 1 AND last_seen_at + heartbeat_s * "
                           "1000 < ?"},
    [WB_REFUSALS_TODAY] = {"refusals_today",
                           "今日拒绝通行",
                           "人次",
                           true,
                           {PERM_ACCESS_SCAN, PERM_ACCESS_READ},
                           "/access-records?verdict=deny",
                           "/staff/scan",
                           {SCOPED, B_DAY},
                           "SELECT COUNT(*) FROM access_records WHERE region_code >= ? AND "
                           "region_code < ? AND at >= ? AND verdict = 'deny'"},
    [WB_SCANS_TODAY] = {"scans_today",
                        "今日通行核验",
                        "人次",
                        false,
                        {PERM_ACCESS_SCAN, PERM_ACCESS_READ},
                        "/access-records",
                        "/staff/scan",
                        {SCOPED, B_DAY},
                        "SELECT COUNT(*) FROM access_records WHERE region_code >= ? AND "
                        "region_code < ? AND at >= ?"},
    [WB_CODES_RED] = {"codes_red",
                      "红码人员",
                      "人",
                      false,
                      {PERM_CODE_READ},
                      "/people",
                      NULL,
                      {SCOPED},
                      "SELECT COUNT(*) FROM health_codes WHERE region_code >= ? AND region_code < "
                      "? AND colour = 'red'"},
    [WB_CODES_YELLOW] = {"codes_yellow",
                         "黄码人员",
                         "人",
                         false,
                         {PERM_CODE_READ},
                         "/people",
                         NULL,
                         {SCOPED},
                         "SELECT COUNT(*) FROM health_codes WHERE region_code >= ? AND "
                         "region_code < ? AND colour = 'yellow'"},
    [WB_VEHICLES_DENIED_TODAY] = {"vehicles_denied_today",
                                  "今日拒绝车辆",
                                  "车次",
                                  false,
                                  {PERM_VEHICLE_READ, PERM_VEHICLE_GATE},
                                  "/vehicles",
                                  NULL,
                                  {SCOPED, B_DAY},
                                  "SELECT COUNT(*) FROM vehicle_passages WHERE region_code >= ? "
                                  "AND region_code < ? AND at >= ? AND verdict = 'deny'"},
    [WB_TESTS_TODAY] = {"tests_today",
                        "今日录入检测结果",
                        "份",
                        false,
                        {PERM_NAT_WRITE},
                        NULL,
                        NULL,
                        {SCOPED, B_DAY},
                        "SELECT COUNT(*) FROM test_results WHERE region_code >= ? AND "
                        "region_code < ? AND created_at >= ?"},
    [WB_ENTERPRISES] = {"enterprises",
                        "辖区企业",
                        "家",
                        false,
                        {PERM_ENTERPRISE_READ},
                        "/enterprises",
                        NULL,
                        {SCOPED},
                        "SELECT COUNT(*) FROM enterprises WHERE region_code >= ? AND region_code "
                        "< ? AND deleted_at = 0"},
    [WB_USERS_LOCKED] = {"users_locked",
                         "锁定的账号",
                         "个",
                         true,
                         {PERM_USER_READ},
                         "/users",
                         NULL,
                         {SCOPED, B_NOW},
                         "SELECT COUNT(*) FROM users WHERE region_code >= ? AND region_code < ? "
                         "AND kind = 'staff' AND locked_until > ?"},
    /* the audit log is not regional (its reader sees the deployment's); today
     * is an id range, ids being time-ordered (base/id.h) */
    [WB_AUDIT_REFUSED_TODAY] = {"audit_refused_today",
                                "今日被拒绝的操作",
                                "次",
                                true,
                                {PERM_AUDIT_READ},
                                "/audit",
                                NULL,
                                {B_DAY_ID},
                                "SELECT COUNT(*) FROM audit_log WHERE id >= ? AND "
                                "result <> 'ok'"},
    /* the same condition as GET /api/v1/me/tasks (task/task.c) */
    [WB_TASKS_MINE] = {"tasks_mine",
                       "我的待办任务",
                       "件",
                       true,
                       {PERM_TASK_WORK},
                       "/tasks",
                       "/staff/tasks",
                       {B_USER, SCOPED, B_USER},
                       "SELECT COUNT(*) FROM tasks t WHERE t.state IN ('pending', 'accepted', "
                       "'overdue') AND (t.assignee_user_id = ? OR (t.assignee_user_id = 0 AND "
                       "t.assignee_role <> '' AND t.region_code >= ? AND t.region_code < ? AND "
                       "EXISTS (SELECT 1 FROM user_roles ur JOIN roles hr ON hr.id = ur.role_id "
                       "WHERE ur.user_id = ? AND hr.key = t.assignee_role)))"},
    [WB_TASKS_OVERDUE] = {"tasks_overdue",
                          "超时任务",
                          "件",
                          true,
                          {PERM_TASK_READ},
                          "/tasks?overdue=1",
                          NULL,
                          {SCOPED, B_NOW},
                          "SELECT COUNT(*) FROM tasks WHERE region_code >= ? AND region_code < ? "
                          "AND (state = 'overdue' OR (state IN ('pending', 'accepted') AND "
                          "deadline < ?))"},
    [WB_NAT_UNATTENDED] =
        {"nat_unattended",
         "无人值守核酸点位",
         "个",
         true,
         {PERM_NAT_READ},
         "/nat/sites?unattended=1",
         "/staff/nat",
         {SCOPED},
         "SELECT COUNT(*) FROM nat_sites WHERE region_code >= ? AND region_code < "
         "? AND deleted_at = 0 AND unattended_since > 0"},
    [WB_NAT_ON_DUTY] =
        {"nat_on_duty",
         "核酸点位在岗人员",
         "人",
         false,
         {PERM_NAT_READ},
         "/nat/clockins?open=1",
         "/staff/nat",
         {SCOPED},
         "SELECT COUNT(*) FROM nat_clockins WHERE region_code >= ? AND region_code < ? "
         "AND out_at = 0"},
    /* 点位扫码人数 today: the samples' own (region_code, at) index */
    [WB_NAT_SAMPLES_TODAY] = {"nat_samples_today",
                              "今日采样人次",
                              "人次",
                              false,
                              {PERM_NAT_READ},
                              "/nat/samples",
                              NULL, /* sampling itself: the 核酸采样 entry (nat.write) */
                              {SCOPED, B_DAY},
                              "SELECT COUNT(*) FROM nat_samples WHERE region_code >= ? AND "
                              "region_code < ? AND at >= ?"},
    /* transport (转运): the courier's and the laboratory's boxes on the way */
    [WB_NAT_IN_TRANSIT] = {"nat_in_transit",
                           "转运中的转运箱",
                           "箱",
                           false,
                           {PERM_NAT_TRANSPORT, PERM_NAT_RECEIVE},
                           "/nat/boxes?state=in_transit",
                           "/staff/nat/transport",
                           {SCOPED},
                           "SELECT COUNT(*) FROM nat_boxes WHERE region_code >= ? AND "
                           "region_code < ? AND state = 'in_transit'"},
    /* those the overdue sweep raised an alert on (nat_sweep_transit) */
    [WB_NAT_TRANSIT_OVERDUE] = {"nat_transit_overdue",
                                "转运超时的转运箱",
                                "箱",
                                true,
                                {PERM_NAT_READ},
                                "/nat/boxes?overdue=1",
                                NULL,
                                {SCOPED},
                                "SELECT COUNT(*) FROM nat_boxes WHERE region_code >= ? AND "
                                "region_code < ? AND state = 'in_transit' AND overdue_at > 0"},
    /* the health commission's investigations waiting for their person
     * (docs/commission.md): someone to register, or a record to correct */
    [WB_COMMISSION_UNLINKED] = {"commission_unlinked",
                                "未关联人员的流调记录",
                                "条",
                                true,
                                {PERM_COMMISSION_READ},
                                "/commission?linked=0",
                                NULL,
                                {SCOPED},
                                "SELECT COUNT(*) FROM commission_investigations WHERE region_code "
                                ">= ? AND region_code < ? AND person_id IS NULL"},
    /* 重点人员行程 (docs/tracing.md): trips recorded since the start of the day six days ago */
    [WB_TRIPS_WEEK] = {"trips_week",
                       "近7日登记的出行记录",
                       "条",
                       false,
                       {PERM_TRACE_READ},
                       "/trace/trips",
                       NULL,
                       {SCOPED, B_WEEK},
                       "SELECT COUNT(*) FROM trips WHERE region_code >= ? AND region_code < ? "
                       "AND deleted_at = 0 AND created_at >= ?"},
    /* 自定义报表 (docs/reports.md): definitions hold no data, so the count is not scoped */
    [WB_REPORTS] = {"reports",
                    "自定义报表",
                    "张",
                    false,
                    {PERM_REPORT_DEFINE, PERM_REPORT_RUN},
                    "/custom-reports",
                    NULL,
                    {B_END},
                    "SELECT COUNT(*) FROM reports WHERE deleted_at = 0"},
    /* 监测预警 (docs/monitor.md): today's breaches that still hold, of enabled rules
     * (monitor_breaches_day); the day number of the day's start */
    [WB_MONITOR_BREACHES] = {"monitor_breaches",
                             "当前监测预警",
                             "项",
                             true,
                             {PERM_MONITOR_READ},
                             "/monitor",
                             "/staff/monitor",
                             {B_DAY, SCOPED},
                             "SELECT COUNT(*) FROM monitor_breaches b JOIN monitor_rules r ON "
                             "r.id = b.rule_id AND r.enabled = 1 WHERE b.day = " CHINA_DAY_SQL(
                                 "CAST(? AS BIGINT)") " AND b.region_code >= ? AND b.region_code "
                                                      "< ? AND b.cleared_at = 0"},
    /* 信息发布: what waits for a second person before the public sees it */
    [WB_PUBLISH_PENDING] = {"publish_pending",
                            "待审核的发布内容",
                            "条",
                            true,
                            {PERM_PUBLISH_APPROVE},
                            "/publish?state=pending",
                            NULL,
                            {SCOPED},
                            "SELECT COUNT(*) FROM publications WHERE region_code >= ? AND "
                            "region_code < ? AND deleted_at = 0 AND state = 'pending'"},
    [WB_FEED_PENDING] = {"feed_pending",
                         "待审核的动态和舆情",
                         "条",
                         true,
                         {PERM_PUBLISH_APPROVE},
                         "/publish/feed",
                         NULL,
                         {SCOPED},
                         "SELECT COUNT(*) FROM feed_items WHERE region_code >= ? AND "
                         "region_code < ? AND state = 'pending'"},
    /* 数据交换: callers suspended (by hand, or after repeated bad signatures) */
    [WB_EXCHANGE_SUSPENDED] = {"exchange_suspended",
                               "已暂停的数据交换调用方",
                               "个",
                               true,
                               {PERM_EXCHANGE_ADMIN},
                               "/exchange/callers?state=suspended",
                               NULL,
                               {SCOPED},
                               "SELECT COUNT(*) FROM exchange_callers WHERE region_code >= ? AND "
                               "region_code < ? AND state = 'suspended'"},
    /* 数据交换: peers we call that fail now (no success since their last failure) */
    [WB_EXCHANGE_PEERS_FAILING] = {"exchange_peers_failing",
                                   "连接异常的对接系统",
                                   "个",
                                   true,
                                   {PERM_EXCHANGE_ADMIN},
                                   "/exchange/peers",
                                   NULL,
                                   {SCOPED},
                                   "SELECT COUNT(*) FROM exchange_peers WHERE region_code >= ? AND "
                                   "region_code < ? AND enabled = 1 AND failing_since > 0"},
    /* 紧急呼叫 (docs/community-services.md): open while none of its alerts is acknowledged */
    [WB_EMERGENCY_OPEN] = {"emergency_open",
                           "待处置的紧急呼叫",
                           "个",
                           true,
                           {PERM_SERVICE_READ},
                           "/service",
                           NULL,
                           {SCOPED},
                           "SELECT COUNT(*) FROM emergency_calls c JOIN alerts a ON a.id = "
                           "c.alert_id LEFT JOIN alerts x ON x.id = c.street_alert_id AND "
                           "c.street_alert_id <> 0 WHERE c.region_code >= ? AND c.region_code < ? "
                           "AND a.acked_at = 0 AND COALESCE(x.acked_at, 0) = 0"},
    /* 社区通知 (docs/community.md): notices published in scope, not withdrawn */
    [WB_NOTICES] = {"notices",
                    "已发布的通知",
                    "条",
                    false,
                    {PERM_NOTICE_READ, PERM_NOTICE_WRITE},
                    "/notices",
                    NULL,
                    {SCOPED},
                    "SELECT COUNT(*) FROM notices WHERE region_code >= ? AND region_code < ? AND "
                    "state = 'published'"},
    /* 生活物资: group orders the shop delivered to a building, for staff to
     * confirm and distribute (shop_orders_region) */
    [WB_SHOP_GROUP_DELIVERED] = {"shop_group_delivered",
                                 "待分发的团购订单",
                                 "单",
                                 true,
                                 {PERM_SHOP_MANAGE},
                                 "/life/orders?group=1&status=delivered",
                                 NULL,
                                 {SCOPED},
                                 "SELECT COUNT(*) FROM shop_orders WHERE region_code >= ? AND "
                                 "region_code < ? AND grp = 1 AND status = 'delivered'"},
    /* 商户接单: the shop's orders to confirm (shops_user, then shop_orders_shop) */
    [WB_SHOP_ORDERS_PENDING] =
        {"shop_orders_pending",
         "待确认的订单",
         "单",
         true,
         {PERM_SHOP_SELL},
         NULL,
         "/staff/shop",
         {B_USER},
         "SELECT COUNT(*) FROM shop_orders o JOIN shops s ON s.id = o.shop_id "
         "WHERE s.user_id = ? AND o.status = 'pending'"},
    /* 人脸识别通行: withdrawals some terminal has not confirmed yet (docs/face.md) */
    [WB_FACE_WITHDRAWING] = {"face_withdrawing",
                             "人脸照片待终端确认删除",
                             "人",
                             true,
                             {PERM_FACE_MANAGE},
                             "/face?state=withdrawing",
                             NULL,
                             {SCOPED},
                             "SELECT COUNT(*) FROM face_enrolments WHERE region_code >= ? AND "
                             "region_code < ? AND state = 'withdrawing'"},
    /* 停车引导: garages full now (docs/parking.md) */
    [WB_PARKING_FULL] = {"parking_full",
                         "车位已满的车库",
                         "个",
                         true,
                         {PERM_PARKING_READ},
                         "/parking",
                         NULL,
                         {SCOPED},
                         "SELECT COUNT(*) FROM parking_garages WHERE region_code >= ? AND "
                         "region_code < ? AND deleted_at = 0 AND occupied + reserved >= total"},
    /* 物资调度 (docs/supplies.md): requests not yet dispatched, by the request's region */
    [WB_SUPPLY_REQUESTS_OPEN] = {"supply_requests_open",
                                 "待调度的物资需求",
                                 "条",
                                 true,
                                 {PERM_SUPPLY_READ},
                                 "/supply",
                                 NULL,
                                 {SCOPED},
                                 "SELECT COUNT(*) FROM supply_requests WHERE region_code >= ? AND "
                                 "region_code < ? AND state = 'open'"},
    /* warehouses' stock lines under their threshold (the shortage alert's condition) */
    [WB_SUPPLY_SHORT] = {"supply_short",
                         "库存不足的物资",
                         "项",
                         true,
                         {PERM_SUPPLY_READ},
                         "/supply",
                         NULL,
                         {SCOPED},
                         "SELECT COUNT(*) FROM supply_stock t JOIN supply_warehouses w ON w.id = "
                         "t.warehouse_id WHERE w.region_code >= ? AND w.region_code < ? AND "
                         "t.threshold > 0 AND t.quantity < t.threshold"},
    /* 企业复工 (docs/enterprise.md): applications the street has to decide */
    [WB_RESUME_PENDING] = {"resume_pending",
                           "待审核复工申请",
                           "件",
                           true,
                           {PERM_ENTERPRISE_REVIEW},
                           "/enterprise/resume",
                           NULL,
                           {SCOPED},
                           "SELECT COUNT(*) FROM enterprise_applications WHERE region_code >= ? "
                           "AND region_code < ? AND status = 'pending'"},
    /* an enterprise account's own employees: by its binding, not its scope */
    [WB_OWN_EMPLOYEES] = {"own_employees",
                          "本企业员工",
                          "人",
                          false,
                          {PERM_EMPLOYEE_WRITE},
                          "/enterprise/resume",
                          NULL,
                          {B_USER},
                          "SELECT COUNT(*) FROM enterprise_employees ee JOIN enterprise_accounts "
                          "ea ON ea.enterprise_id = ee.enterprise_id WHERE ea.user_id = ? AND "
                          "ee.deleted_at = 0"},
    /* 社区协商 (docs/community.md "Polls"): polls still open for answers */
    [WB_POLLS_OPEN] = {"polls_open",
                       "进行中的问卷",
                       "份",
                       false,
                       {PERM_NOTICE_READ, PERM_NOTICE_WRITE},
                       "/polls",
                       NULL,
                       {SCOPED, B_NOW},
                       "SELECT COUNT(*) FROM polls WHERE region_code >= ? AND region_code < ? AND "
                       "state = 'open' AND closes_at > ?"},
    /* 求助 (docs/community-services.md): open help requests in scope */
    [WB_HELP_OPEN] = {"help_open",
                      "待办结的求助",
                      "件",
                      true,
                      {PERM_SERVICE_READ},
                      "/service?tab=help",
                      NULL,
                      {SCOPED},
                      "SELECT COUNT(*) FROM help_requests WHERE region_code >= ? AND region_code "
                      "< ? AND closed_at = 0"},
    /* 消杀巡查 (docs/community-services.md): objects whose record is past due */
    [WB_INSPECT_OVERDUE] = {"inspect_overdue",
                            "逾期未消杀巡查",
                            "处",
                            true,
                            {PERM_SERVICE_READ},
                            "/service?tab=inspect",
                            "/staff/inspect",
                            {SCOPED, B_NOW},
                            "SELECT COUNT(*) FROM inspect_objects WHERE region_code >= ? AND "
                            "region_code < ? AND due_at < ? AND retired_at = 0"},
    /* 分配给我的求助: the assignee learns of a request as soon as it is theirs
     * (docs/community-services.md "Help requests"); the console's link is
     * the help tab with mine=1 */
    [WB_HELP_MINE] = {"help_mine",
                      "分配给我的求助",
                      "件",
                      true,
                      {PERM_ASSIST_WORK},
                      "/service?tab=help&mine=1",
                      NULL,
                      {SCOPED, B_USER},
                      "SELECT COUNT(*) FROM help_requests WHERE region_code >= ? AND region_code "
                      "< ? AND assignee_id = ? AND state IN ('assigned', 'in_progress')"},
    /* 快递外卖: parcels waiting longer than PARCEL_OVERDUE_DAYS (3) days, the
     * flag of the parcels page (parcels_region); the arithmetic is on the
     * column so the bound value stays a plain integer on both drivers */
    [WB_PARCELS_OVERDUE] = {"parcels_overdue",
                            "超期未取的快递",
                            "件",
                            true,
                            {PERM_PARCEL_READ},
                            "/life/parcels",
                            NULL,
                            {SCOPED, B_NOW},
                            "SELECT COUNT(*) FROM parcels WHERE region_code >= ? AND region_code "
                            "< ? AND status = 'waiting' AND created_at + 259200000 < ?"},
    /* 志愿者: applications waiting for review (volunteers_region) */
    [WB_VOLUNTEERS_PENDING] = {"volunteers_pending",
                               "待审核的志愿者申请",
                               "人",
                               true,
                               {PERM_VOLUNTEER_MANAGE},
                               "/life/volunteers",
                               NULL,
                               {SCOPED},
                               "SELECT COUNT(*) FROM volunteers WHERE region_code >= ? AND "
                               "region_code < ? AND status = 'pending'"},
    /* 快递外卖登记: what the delivery account left that is still waiting
     * (parcels_recorder) */
    [WB_PARCELS_MINE_WAITING] = {"parcels_mine_waiting",
                                 "我登记的待取快递",
                                 "件",
                                 false,
                                 {PERM_PARCEL_RECORD},
                                 NULL,
                                 "/staff/parcel",
                                 {B_USER},
                                 "SELECT COUNT(*) FROM parcels WHERE recorded_by = ? AND status = "
                                 "'waiting'"},
    /* 志愿服务时长登记: sign-ups of projects that started (not cancelled)
     * with no time recorded yet; community staff record them on the phone */
    [WB_VOLUNTEER_HOURS_DUE] =
        {"volunteer_hours_due",
         "待登记的志愿服务时长",
         "人次",
         true,
         {PERM_VOLUNTEER_MANAGE},
         "/life/volunteers",
         "/staff/volunteer-hours",
         {SCOPED, B_NOW},
         "SELECT COUNT(*) FROM volunteer_signups g JOIN volunteer_projects j "
         "ON j.id = g.project_id WHERE j.region_code >= ? AND j.region_code "
         "< ? AND j.starts_at <= ? AND j.cancelled_at = 0 AND g.cancelled_at "
         "= 0 AND g.minutes = 0"},
    /* 医疗资源 (docs/supplies.md): institutions whose last report left no bed free */
    [WB_MEDICAL_FULL] = {"medical_full",
                         "床位已满的医疗机构",
                         "家",
                         true,
                         {PERM_MEDICAL_READ},
                         "/medical",
                         "/staff/medical",
                         {SCOPED},
                         "SELECT COUNT(*) FROM medical_institutions m JOIN places p ON p.id = "
                         "m.place_id AND p.deleted_at = 0 WHERE p.region_code >= ? AND "
                         "p.region_code < ? AND m.beds_total > 0 AND m.beds_occupied >= "
                         "m.beds_total"},
    /* the hospital staff's daily report (填报) not made yet today */
    [WB_MEDICAL_UNREPORTED] = {"medical_unreported",
                               "今日未填报床位的医疗机构",
                               "家",
                               true,
                               {PERM_MEDICAL_REPORT},
                               "/medical",
                               "/staff/medical",
                               {SCOPED, B_DAY},
                               "SELECT COUNT(*) FROM medical_institutions m JOIN places p ON "
                               "p.id = m.place_id AND p.deleted_at = 0 WHERE p.region_code >= ? "
                               "AND p.region_code < ? AND m.reported_at < ?"},
    /* 复工复产监测 (docs/enterprise.md): today's abnormal staff clock-ins in scope */
    [WB_CLOCKIN_ABNORMAL] = {"clockin_abnormal_today",
                             "今日员工打卡异常",
                             "人",
                             true,
                             {PERM_ENTERPRISE_MONITOR},
                             "/enterprise/monitor",
                             NULL,
                             {SCOPED, B_DAY},
                             "SELECT COUNT(*) FROM enterprise_clockins WHERE region_code >= ? AND "
                             "region_code < ? AND created_at >= ? AND abnormal = 1"},
    /* 密钥轮换 (docs/keys.md): a rotation running, waiting for the old key's
     * destruction, or stopped; not regional (one key for the platform) */
    [WB_KEY_ROTATION] = {"key_rotation_open",
                         "未完成的密钥轮换",
                         "个",
                         true,
                         {PERM_KEY_ADMIN},
                         "/security/keys",
                         NULL,
                         {B_END},
                         "SELECT COUNT(*) FROM key_rotations WHERE state IN ('running', "
                         "'resealed', 'verifying', 'failed')"},
};

static bool may_see(const struct principal *who, const struct wb_def *w)
{
    for (size_t i = 0; i < sizeof w->perms / sizeof w->perms[0]; i++)
        if (w->perms[i] != PERM_NONE && principal_can(who, w->perms[i]))
            return true;
    return false;
}

static err count(db *d, const struct wb_def *w, const struct principal *who, int64_t now,
                 int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, w->sql, &s);
    if (e)
        return e;
    int64_t day = china_day_start(now);
    const struct scope *sc = &who->scope;
    for (int i = 0; i < 4 && w->binds[i] != B_END; i++) {
        enum bind b = w->binds[i];
        db_bind_int64(s, i + 1,
                      b == B_LO     ? sc->lo
                      : b == B_HI   ? sc->hi
                      : b == B_DAY  ? day
                      : b == B_WEEK ? day - 6 * DAY_MS
                      : b == B_NOW  ? now
                      : b == B_USER ? who->user_id
                                    : id_min_at(day));
    }
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *n_r = db_col_int64(s, 0);
    if (!e && !row) /* a COUNT always has its row */
        e = E_DB;
    db_done(s);
    return e;
}

err workbench_counts(db *d, const struct principal *who, int64_t now,
                     struct workbench_entry out[WB__COUNT], size_t *n_r)
{
    size_t n = 0;
    db_catch_up(); /* the day's scans count every acknowledged one */
    if (who->resident) {
        *n_r = 0;
        return E_OK;
    }
    for (int i = 0; i < WB__COUNT; i++) {
        const struct wb_def *w = &defs[i];
        if (!may_see(who, w))
            continue;
        int64_t c = 0;
        err e = count(d, w, who, now, &c);
        if (e)
            return e;
        out[n++] = (struct workbench_entry){.item = (enum workbench_item)i,
                                            .key = w->key,
                                            .title = w->title,
                                            .unit = w->unit,
                                            .todo = w->todo,
                                            .count = c,
                                            .console = w->console,
                                            .mobile = w->mobile};
    }
    *n_r = n;
    return E_OK;
}
