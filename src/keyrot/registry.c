/*
 * The registry of sealed columns (keyrot.h): every column that holds a value
 * sealed with security/crypto.h's seal(), and every blind-index column, with
 * how its rows are walked and the seal label its values are bound to. The
 * rotation re-seals the sealed ones; tests/unit/test_keyrot.c fails when the
 * schema has a *_enc or *_bidx column this list lacks, so a new sealed
 * column cannot be forgotten by the next rotation.
 *
 * Labels are "<table>.<column without _enc>" (db/fields.h's rule) unless an
 * entry names another: some modules chose shorter names before the rule
 * existed, and attachments bind the row id into theirs.
 */
#include "keyrot/keyrot.h"

#include <stdio.h>
#include <string.h>

#include "person/person.h"
#include "security/crypto.h"

#define SEALED(t, c, zt, zc)                                                                       \
    {                                                                                              \
        t, c, "id", NULL, false, NULL, KEYROT_SEALED, zt, zc                                       \
    }
#define SEALED_L(t, c, l, zt, zc)                                                                  \
    {                                                                                              \
        t, c, "id", NULL, false, l, KEYROT_SEALED, zt, zc                                          \
    }
#define SEALED_2(t, c, k2, b, zt, zc)                                                              \
    {                                                                                              \
        t, c, "investigation_id", k2, b, NULL, KEYROT_SEALED, zt, zc                               \
    }
/* a blind index: key1, the sealed source column, the blind_index label */
#define BLIND(t, c, k1, src, bl, zt, zc)                                                           \
    {                                                                                              \
        t, c, k1, NULL, false, NULL, KEYROT_BLIND, zt, zc, src, bl, KEYROT_SAME                    \
    }

static const struct keyrot_column columns[] = {
    SEALED("access_records", "phone_enc", "通行记录", "电话"),
    SEALED("access_records", "note_enc", "通行记录", "备注"),
    SEALED_L("attachments", "data_enc", "attachments.data_enc#", "附件", "文件内容"),
    SEALED("case_links", "note_enc", "病例关联", "备注"),
    SEALED("certificates", "revoke_reason_enc", "解除隔离证明", "撤销原因"),
    SEALED("check_messages", "text_enc", "体征核查消息", "内容"),
    SEALED("checks", "door_no_enc", "体征核查", "门牌号"),
    SEALED("checks", "description_enc", "体征核查", "描述"),
    SEALED_L("commission_doctors", "name_enc", "commission.name", "卫健医生", "姓名"),
    SEALED_L("commission_doctors", "id_number_enc", "commission.id_number", "卫健医生", "证件号"),
    SEALED_L("commission_doctors", "phone_enc", "commission.phone", "卫健医生", "电话"),
    SEALED_L("commission_investigations", "id_number_enc", "commission.id_number", "卫健流调",
             "证件号"),
    SEALED_L("commission_investigations", "name_enc", "commission.name", "卫健流调", "姓名"),
    SEALED_L("commission_investigations", "exposure_enc", "commission.exposure", "卫健流调",
             "暴露情况"),
    SEALED_L("commission_investigations", "places_enc", "commission.places", "卫健流调", "地点"),
    SEALED_L("commission_investigations", "notes_enc", "commission.notes", "卫健流调", "备注"),
    SEALED("declarations", "symptom_other_enc", "健康申报", "其他症状"),
    SEALED("declarations", "travel_enc", "健康申报", "行程"),
    SEALED("declarations", "contact_text_enc", "健康申报", "接触情况"),
    SEALED("enterprise_declarations", "phone_enc", "企业申报", "电话"),
    SEALED("enterprise_declarations", "travel_enc", "企业申报", "行程"),
    SEALED("enterprises", "contact_name_enc", "企业", "联系人"),
    SEALED("enterprises", "contact_phone_enc", "企业", "联系电话"),
    SEALED("enterprises", "legal_rep_enc", "企业", "法定代表人"),
    SEALED("enterprises", "legal_rep_phone_enc", "企业", "法定代表人电话"),
    SEALED("env_clues", "text_enc", "环境线索", "内容"),
    SEALED_L("export_files", "data_enc", "export_files.data_enc#", "导出文件", "文件内容"),
    SEALED("exchange_callers", "contact_phone_enc", "数据交换调用方", "联系电话"),
    SEALED("exchange_peers", "key_enc", "数据交换对端", "密钥"),
    SEALED("exchange_server_keys", "private_enc", "数据交换服务密钥", "私钥"),
    SEALED("help_requests", "text_enc", "求助", "内容"),
    SEALED_L("hotline_tickets", "caller_name_enc", "hotline.caller_name", "接诉即办工单", "来电人"),
    SEALED_L("hotline_tickets", "caller_phone_enc", "hotline.caller_phone", "接诉即办工单",
             "来电号码"),
    SEALED_L("incidents", "name_enc", "incident.name", "疫情事件", "姓名"),
    SEALED_L("incidents", "phone_enc", "incident.phone", "疫情事件", "电话"),
    SEALED_L("incidents", "id_number_enc", "incident.id_number", "疫情事件", "证件号"),
    SEALED_L("incidents", "description_enc", "incident.description", "疫情事件", "描述"),
    SEALED_L("incidents", "address_enc", "incident.address", "疫情事件", "地址"),
    SEALED_L("incidents", "detail_enc", "incident.detail", "疫情事件", "详情"),
    SEALED_L("incidents", "close_reason_enc", "incident.close_reason", "疫情事件", "关闭原因"),
    SEALED_2("investigation_contacts", "name_enc", "seq", false, "流调密接", "姓名"),
    SEALED_2("investigation_contacts", "phone_enc", "seq", false, "流调密接", "电话"),
    SEALED_2("investigation_contacts", "id_number_enc", "seq", false, "流调密接", "证件号"),
    SEALED_2("investigation_places", "place_enc", "seq", false, "流调地点", "地点"),
    SEALED_2("investigation_places", "note_enc", "seq", false, "流调地点", "备注"),
    SEALED("investigations", "summary_enc", "流调", "摘要"),
    SEALED("observation_notes", "text_enc", "隔离观察记录", "内容"),
    SEALED("observations", "end_reason_enc", "隔离观察", "结束原因"),
    SEALED("observations", "handover_enc", "隔离观察", "交接"),
    SEALED("observations", "evidence_enc", "隔离观察", "依据"),
    SEALED("observations", "place_enc", "隔离观察", "地点"),
    SEALED("observations", "co_residents_info_enc", "隔离观察", "同住人"),
    SEALED("observations", "visit_contact_enc", "隔离观察", "上门联系人"),
    SEALED("observations", "note_enc", "隔离观察", "备注"),
    SEALED("parcels", "code_enc", "快递外卖", "取件码"),
    SEALED("parcels", "phone_enc", "快递外卖", "电话"),
    {"parking_cars", "plate_enc", "garage_id", "plate_bidx", true, NULL, KEYROT_SEALED, "停车车辆",
     "车牌"},
    SEALED("person_history", "changes_enc", "人员变更记录", "变更内容"),
    SEALED("persons", "id_number_enc", "人员", "证件号"),
    SEALED("persons", "name_enc", "人员", "姓名"),
    SEALED("persons", "phone_enc", "人员", "电话"),
    SEALED("persons", "address_enc", "人员", "地址"),
    SEALED("persons", "emergency_name_enc", "人员", "紧急联系人"),
    SEALED("persons", "emergency_phone_enc", "人员", "紧急联系人电话"),
    SEALED("persons", "work_address_enc", "人员", "工作地址"),
    SEALED("places", "contact_name_enc", "场所", "联系人"),
    SEALED("places", "contact_phone_enc", "场所", "联系电话"),
    SEALED("shop_orders", "recipient_enc", "生活物资订单", "收件人"),
    SEALED("shop_orders", "address_enc", "生活物资订单", "地址"),
    SEALED("status_changes", "reason_enc", "状态变更", "原因"),
    SEALED("supply_deliveries", "driver_phone_enc", "物资配送", "司机电话"),
    SEALED("tasks", "address_enc", "任务", "地址"),
    SEALED("tasks", "phone_enc", "任务", "电话"),
    SEALED("trips", "out_plate_enc", "出行", "去程车牌"),
    SEALED("trips", "back_plate_enc", "出行", "返程车牌"),
    SEALED("users", "phone_enc", "用户", "电话"),
    SEALED("users", "totp_secret_enc", "用户", "动态口令密钥"),
    SEALED("vehicle_passages", "plate_enc", "车辆通行", "车牌"),
    SEALED("vehicles", "plate_enc", "车辆", "车牌"),
    SEALED("vehicles", "note_enc", "车辆", "备注"),
    SEALED("visitors", "name_enc", "访客", "姓名"),
    SEALED("visitors", "id_number_enc", "访客", "证件号"),
    SEALED("visitors", "phone_enc", "访客", "电话"),
    SEALED("visitors", "plate_enc", "访客", "车牌"),

    /* Blind indexes: re-computed from the value they index (source) under
     * the new version, with the label and normalisation of their module
     * (docs/keys.md, "Blind indexes"). */
    BLIND("commission_doctors", "id_number_bidx", "id", "id_number_enc", "commission.id_number",
          "卫健医生", "证件号索引"),
    BLIND("commission_doctors", "phone_bidx", "id", "phone_enc", "commission.phone", "卫健医生",
          "电话索引"),
    BLIND("commission_investigations", "id_number_bidx", "id", "id_number_enc",
          "commission.id_number", "卫健流调", "证件号索引"),
    BLIND("hotline_tickets", "caller_phone_bidx", "id", "caller_phone_enc", "hotline.caller_phone",
          "接诉即办工单", "来电号码索引"),
    BLIND("incidents", "name_bidx", "id", "name_enc", "incident.name", "疫情事件", "姓名索引"),
    BLIND("incidents", "phone_bidx", "id", "phone_enc", "incident.phone", "疫情事件", "电话索引"),
    {"investigation_contacts", "phone_bidx", "investigation_id", "seq", false, NULL, KEYROT_BLIND,
     "流调密接", "电话索引", "phone_enc", "investigation_contacts.phone", KEYROT_SAME},
    {"investigation_contacts", "id_number_bidx", "investigation_id", "seq", false, NULL,
     KEYROT_BLIND, "流调密接", "证件号索引", "id_number_enc", "investigation_contacts.id_number",
     KEYROT_SAME},
    /* parcels are found by their recipient's account: users' label */
    BLIND("parcels", "phone_bidx", "id", "phone_enc", "users.phone", "快递外卖", "电话索引"),
    /* plates share one label across tables (vehicle.h PLATE_BLIND_LABEL) */
    {"parking_cars", "plate_bidx", "garage_id", "plate_bidx", true, NULL, KEYROT_BLIND, "停车车辆",
     "车牌索引", "plate_enc", "plate", KEYROT_SAME},
    {"person_name_tokens", "token", "person_id", "token", true, NULL, KEYROT_BLIND, "人员姓名分词",
     "分词索引", "persons.name_enc", "persons.name_token", KEYROT_TOKENS},
    BLIND("persons", "id_number_bidx", "id", "id_number_enc", "persons.id_number", "人员",
          "证件号索引"),
    BLIND("persons", "name_bidx", "id", "name_enc", "persons.name", "人员", "姓名索引"),
    BLIND("persons", "phone_bidx", "id", "phone_enc", "persons.phone", "人员", "电话索引"),
    {"persons", "phone_last4_bidx", "id", NULL, false, NULL, KEYROT_BLIND, "人员", "电话后四位索引",
     "phone_enc", "persons.phone_last4", KEYROT_LAST4},
    /* codes live minutes and their phone is not stored: the ones written
     * before the rotation are deleted (they are asked for again) */
    {"sms_codes", "phone_bidx", NULL, NULL, false, NULL, KEYROT_BLIND, "短信验证码", "电话索引",
     NULL, NULL, KEYROT_EXPIRE},
    BLIND("users", "phone_bidx", "id", "phone_enc", "users.phone", "用户", "电话索引"),
    BLIND("vehicle_passages", "plate_bidx", "id", "plate_enc", "plate", "车辆通行", "车牌索引"),
    BLIND("vehicles", "plate_bidx", "id", "plate_enc", "plate", "车辆", "车牌索引"),
    BLIND("visitors", "id_number_bidx", "id", "id_number_enc", "visitors.id_number", "访客",
          "证件号索引"),
    BLIND("visitors", "plate_bidx", "id", "plate_enc", "plate", "访客", "车牌索引"),
};

const struct keyrot_column *keyrot_columns(size_t *n_r)
{
    *n_r = sizeof columns / sizeof columns[0];
    return columns;
}

const struct keyrot_column *keyrot_column_find(const char *name)
{
    size_t tl;
    const char *dot = strchr(name, '.');
    if (!dot)
        return NULL;
    tl = (size_t)(dot - name);
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++)
        if (strlen(columns[i].table) == tl && !strncmp(columns[i].table, name, tl) &&
            !strcmp(columns[i].column, dot + 1))
            return &columns[i];
    return NULL;
}

bool keyrot_blind(const struct keyrot_column *c, int version, const char *plain,
                  uint8_t (*out)[BLIND_LEN], size_t max, size_t *n_r)
{
    *n_r = 0;
    if (c->kind != KEYROT_BLIND || !max)
        return false;
    if (c->derive == KEYROT_TOKENS) {
        char buf[PERSON_TOKEN_BUF];
        const char *tok[PERSON_TOKENS_MAX];
        size_t n = person_name_tokens(plain, buf, sizeof buf, tok,
                                      max < PERSON_TOKENS_MAX ? max : PERSON_TOKENS_MAX);
        for (size_t i = 0; i < n; i++)
            if (!blind_index_version(version, c->blind_label, tok[i], out[i]))
                return false;
        *n_r = n;
        return n > 0;
    }
    const char *v = plain;
    if (c->derive == KEYROT_LAST4) {
        /* person_phone_last4_index's rule */
        size_t n = strlen(plain);
        if (n < 4)
            return false;
        for (size_t i = n - 4; i < n; i++)
            if (plain[i] < '0' || plain[i] > '9')
                return false;
        v = plain + n - 4;
    } else if (c->derive != KEYROT_SAME) {
        return false;
    }
    if (!blind_index_version(version, c->blind_label, v, out[0]))
        return false;
    *n_r = 1;
    return true;
}

void keyrot_label(const struct keyrot_column *c, int64_t id, char out[KEYROT_LABEL_MAX])
{
    if (c->label && c->label[strlen(c->label) - 1] == '#')
        snprintf(out, KEYROT_LABEL_MAX, "%s%lld", c->label, (long long)id);
    else if (c->label)
        snprintf(out, KEYROT_LABEL_MAX, "%s", c->label);
    else {
        size_t n = strlen(c->column);
        if (n > 4 && !strcmp(c->column + n - 4, "_enc"))
            n -= 4;
        snprintf(out, KEYROT_LABEL_MAX, "%s.%.*s", c->table, (int)n, c->column);
    }
}
