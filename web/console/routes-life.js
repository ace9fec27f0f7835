// 社区服务 · 生活物资 (issue 14, docs/community-life.md): the shops of the
// scope with their accounts, and the orders delivered in it, with group
// orders (团购) for sealed buildings. Community and street staff (shop.manage).
const life = { group: '社区服务', groupIcon: 'House' };
export default [
  { path: 'life/shops', component: () => import('./views/life/Shops.vue'), meta: { menu: '生活物资商户', perm: 'shop.manage', title: '生活物资商户', ...life } },
  { path: 'life/parcels', component: () => import('./views/life/Parcels.vue'), meta: { menu: '快递外卖', perm: 'parcel.read', title: '快递外卖', ...life } },
  { path: 'life/volunteers', component: () => import('./views/life/Volunteers.vue'), meta: { menu: '志愿者', perm: 'volunteer.manage', title: '志愿者', ...life } },
  { path: 'life/orders', component: () => import('./views/life/ShopOrders.vue'), meta: { menu: '生活物资订单', perm: 'shop.manage', title: '生活物资订单', ...life } },
];
