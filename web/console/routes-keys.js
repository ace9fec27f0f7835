// 安全管理 > 密钥轮换 (docs/keys.md): the master key's versions and their
// rotation, for the security administrator (key.admin) only.
const group = { group: '安全管理', groupIcon: 'Lock' };

export default [
  { path: 'security/keys', component: () => import('./views/keys/Keys.vue'), meta: { menu: '密钥轮换', perm: 'key.admin', icon: 'Key', title: '密钥轮换', ...group } },
];
