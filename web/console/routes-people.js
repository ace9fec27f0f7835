// Home, my account and the registry of people.
export default [
  { path: 'home', component: () => import('./views/Home.vue'), meta: { menu: '工作台', icon: 'HomeFilled' } },
  { path: 'account', component: () => import('./views/Account.vue'), meta: { title: '我的账号' } },
  {
    path: 'people',
    component: () => import('./views/people/PeopleList.vue'),
    meta: { menu: '人员管理', perm: 'person.read', icon: 'User', title: '人员管理' },
  },
  // a person's page, opened from the list (the name is a link)
  { path: 'people/:id', component: () => import('./views/people/PersonPage.vue'), meta: { perm: 'person.read', title: '人员详情' } },
  // the tasks board (docs/tasks.md); the workbench's 超时任务 links to ?overdue=1
  { path: 'tasks', component: () => import('./views/people/Tasks.vue'), meta: { menu: '任务看板', perm: 'task.read', icon: 'List', title: '任务看板' } },
];
