import { createApp } from 'vue';
import ElementPlus from 'element-plus';
import zhCn from 'element-plus/es/locale/lang/zh-cn';
import * as Icons from '@element-plus/icons-vue';
import 'element-plus/dist/index.css';
import { setUnauthorizedHandler } from '@shared/api.js';
import { session } from '@shared/session.js';
import App from './App.vue';
import router from './router.js';

const app = createApp(App).use(ElementPlus, { locale: zhCn }).use(router);
for (const [name, c] of Object.entries(Icons)) app.component(name, c);
setUnauthorizedHandler(() => {
  session.me = null;
  if (router.currentRoute.value.path !== '/login') router.push({ path: '/login', query: { next: router.currentRoute.value.fullPath } });
});
app.mount('#app');
