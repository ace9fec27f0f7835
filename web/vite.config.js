// One Vite project, one page per audience: the console (Element Plus) and
// the mobile pages (Vant). `fangkong serve` serves web/dist; in development
// `npx vite --config web/vite.config.js` proxies /api to a running server.
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import { resolve } from 'node:path';

const root = import.meta.dirname;

// Vant's icon font is inlined as data, with a fallback on a public CDN. The
// platform runs on networks with no internet: drop every remote url() from
// the CSS so nothing is ever fetched from elsewhere.
const noRemoteUrls = {
  name: 'fangkong-no-remote-urls',
  enforce: 'pre',
  transform(code, id) {
    if (!/\.css($|\?)/.test(id)) return null;
    const out = code.replace(/,\s*url\((?:https?:)?\/\/[^)]*\)(?:\s*format\([^)]*\))?/g, '');
    return out === code ? null : { code: out, map: null };
  },
};

export default defineConfig({
  root,
  base: '/',
  plugins: [noRemoteUrls, vue()],
  resolve: { alias: { '@shared': resolve(root, 'shared'), '@console': resolve(root, 'console') } },
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      input: {
        console: resolve(root, 'console/index.html'),
        mobile: resolve(root, 'mobile/index.html'),
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
