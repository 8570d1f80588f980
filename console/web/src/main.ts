import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import 'element-plus/theme-chalk/dark/css-vars.css'
import './styles.css'
import App from './App.vue'
import { i18n } from './i18n/index.ts'
import { loginRoute, router } from './router.ts'
import { setUnauthorizedHandler } from './api/http.ts'
import { useSessionStore } from './stores/session.ts'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)
app.use(router)
app.use(ElementPlus)

setUnauthorizedHandler(() => {
  useSessionStore(pinia).clear()
  const current = router.currentRoute.value
  if (current.meta.public) return
  void router.replace(loginRoute(current.fullPath))
})

app.mount('#app')
