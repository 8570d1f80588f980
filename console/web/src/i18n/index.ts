import { computed } from 'vue'
import { createI18n } from 'vue-i18n'
import zhCN, { type MessageSchema } from './zh-CN.ts'
import en from './en.ts'
import { apiErrorsEn, apiErrorsZhCN } from './api-errors/index.ts'

export type AppLocale = 'zh-CN' | 'en'
export const LOCALES: { value: AppLocale; label: string }[] = [
  { value: 'zh-CN', label: '简体中文' },
  { value: 'en', label: 'English' },
]

const STORAGE_KEY = 'skynet.locale'

function isLocale(value: unknown): value is AppLocale {
  return value === 'zh-CN' || value === 'en'
}

function storedLocale(): AppLocale | null {
  try {
    const value = localStorage.getItem(STORAGE_KEY)
    return isLocale(value) ? value : null
  } catch {
    return null
  }
}

export const i18n = createI18n<[MessageSchema], AppLocale, false>({
  legacy: false,
  locale: storedLocale() ?? 'zh-CN',
  fallbackLocale: 'zh-CN',
  // The server's error codes (api-errors/) join as `apiErrors`, outside the typed schema:
  // their keys are built at run time from the code an answer carries (feedback.ts).
  messages: { 'zh-CN': { ...zhCN, apiErrors: apiErrorsZhCN }, en: { ...en, apiErrors: apiErrorsEn } } as unknown as Record<AppLocale, MessageSchema>,
})

export const currentLocale = computed<AppLocale>(() => i18n.global.locale.value)

function apply(locale: AppLocale): void {
  i18n.global.locale.value = locale
  document.documentElement.lang = locale
}

/** The user's explicit choice: applied and kept in localStorage. */
export function setLocale(locale: AppLocale): void {
  apply(locale)
  try {
    localStorage.setItem(STORAGE_KEY, locale)
  } catch {
    // private mode: the choice lasts this page only
  }
}

/** The account's preferred locale, used only while the user has made no choice on this browser. */
export function adoptAccountLocale(locale: string | null | undefined): void {
  if (storedLocale() === null && isLocale(locale)) apply(locale)
}

apply(i18n.global.locale.value)
