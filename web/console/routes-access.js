// 通行管控: health-code rules, venues and their codes, passages, visitors,
// vehicles, devices, alerts.
const access = { group: '通行管控', groupIcon: 'Postcard' };

export default [
  { path: 'code-rules', component: () => import('./views/access/CodeRules.vue'), meta: { menu: '健康码规则', perm: 'code.read', icon: 'SetUp', ...access } },
  { path: 'venues', component: () => import('./views/access/Venues.vue'), meta: { menu: '场所码点位', perm: 'venue.read', icon: 'Location', ...access } },
  { path: 'access-records', component: () => import('./views/access/Records.vue'), meta: { menu: '通行记录', perm: 'access.read', icon: 'Tickets', ...access } },
  { path: 'visitors', component: () => import('./views/access/Visitors.vue'), meta: { menu: '访客审核', perm: 'visitor.confirm', icon: 'Avatar', ...access } },
  { path: 'vehicles', component: () => import('./views/access/Vehicles.vue'), meta: { menu: '车辆', perm: 'vehicle.read', icon: 'Van', ...access } },
  { path: 'devices', component: () => import('./views/access/Devices.vue'), meta: { menu: '设备', perm: 'device.read', icon: 'Cpu', ...access } },
  // 人脸识别通行: enrolments and their terminals (docs/face.md)
  { path: 'face', component: () => import('./views/face/FaceEnrolments.vue'), meta: { menu: '人脸识别通行', perm: 'face.manage', icon: 'Camera', ...access } },
  // 停车引导: garages, free spaces, cars inside (docs/parking.md)
  { path: 'parking', component: () => import('./views/parking/Garages.vue'), meta: { menu: '停车引导', perm: 'parking.read', icon: 'Van', ...access } },
  { path: 'alerts', component: () => import('./views/access/Alerts.vue'), meta: { menu: '预警', perm: 'alert.read', icon: 'Bell', ...access } },
];
