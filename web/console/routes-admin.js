// Places, enterprises, regions, departments, roles, users, the audit log.
// Basic data (regions and what sits in them), system administration (who
// may do what), and the audit log on its own: only the audit administrator
// has audit.read.
const basic = { group: '基础数据', groupIcon: 'Grid' };
const system = { group: '系统管理', groupIcon: 'Setting' };

export default [
  { path: 'regions', component: () => import('./views/admin/Regions.vue'), meta: { menu: '区划管理', perm: 'region.read', icon: 'Location', ...basic } },
  { path: 'places', component: () => import('./views/admin/Places.vue'), meta: { menu: '场所管理', perm: 'place.read', icon: 'OfficeBuilding', ...basic } },
  { path: 'enterprises', component: () => import('./views/admin/Enterprises.vue'), meta: { menu: '企业管理', perm: 'enterprise.read', icon: 'Shop', ...basic } },
  { path: 'departments', component: () => import('./views/admin/Departments.vue'), meta: { menu: '部门管理', perm: 'user.read', icon: 'Files', ...system } },
  { path: 'roles', component: () => import('./views/admin/Roles.vue'), meta: { menu: '角色管理', perm: 'role.read', icon: 'Lock', ...system } },
  { path: 'users', component: () => import('./views/admin/Users.vue'), meta: { menu: '用户管理', perm: 'user.read', icon: 'User', ...system } },
  { path: 'audit', component: () => import('./views/admin/Audit.vue'), meta: { menu: '审计日志', perm: 'audit.read', icon: 'Document' } },
];
