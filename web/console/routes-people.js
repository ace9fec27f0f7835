// Home, my account and the registry of people.
export default [
  { path: 'home', component: () => import('./views/Home.vue'), meta: { menu: '工作台', icon: 'HomeFilled' } },
  { path: 'account', component: () => import('./views/Account.vue'), meta: { title: '我的账号' } },
  {
    path: 'people',
    component: () => import('./views/people/PeopleList.vue'),
    meta: { menu: '人员管理', perm: 'person.read', icon: 'User', title: '人员管理' },
  },
];
