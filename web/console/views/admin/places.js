// The place kinds the server accepts (src/place/place.c place_kind_names),
// with its Chinese labels. The API returns kind_label on each place but has
// no list of kinds, so the choices for a new place are kept here.
export const PLACE_KINDS = [
  ['community', '小区'], ['urban_village', '城中村'], ['park', '园区'], ['property_company', '物业公司'],
  ['factory', '工厂/厂房'], ['rental_housing', '出租屋'], ['apartment', '公寓楼'], ['dormitory', '集体宿舍'],
  ['market', '农贸市场'], ['quarantine_site', '隔离点'], ['office', '写字楼'], ['school', '学校'],
  ['hospital', '医院'], ['other', '其他'],
].map(([value, label]) => ({ value, label }));
