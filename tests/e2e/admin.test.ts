import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform } from '../helpers/platform.ts';

// The admin pages in headless Chromium: an admin builds the site tree (组织机构) and is told
// why a site in use cannot go; filters the audit log and downloads the CSV of the same filters;
// issues an API token for a user, sees the secret once, and it works. A supervisor reads the
// audit log but has no site or user pages.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let browser: Browser;
let base: string;

beforeAll(async () => {
  ({ platform, close } = await testPlatform());
  await ensureWebBuilt({ info: () => {} });
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'adm-e2e', password: 'adm-e2e-password', roles: ['admin'], displayName: '管理员甲' });
  await platform.identity.createUser({ username: 'sup-e2e', password: 'sup-e2e-password', roles: ['supervisor'] });
  await platform.identity.createUser({ username: 'wallpc-e2e', password: 'wallpc-e2e-password', roles: ['monitor'], displayName: '视频墙主机' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await close?.();
});

async function login(page: Page, username: string, password: string) {
  await page.goto(`${base}/login`);
  await page.fill('[data-test=login-username]', username);
  await page.fill('[data-test=login-password]', password);
  await page.click('[data-test=login-submit]');
  await page.waitForURL(/\/devices/);
}

const node = (page: Page, name: string) => page.locator('[data-test=site-node]', { hasText: name });

describe('site tree page', () => {
  it('creates a platform and an area below it, shows markup as text, and refuses deleting a site in use', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await login(page, 'adm-e2e', 'adm-e2e-password');
    await page.goto(`${base}/admin/sites`);
    await page.waitForSelector('[data-test=site-tree]');

    await page.click('[data-test=site-create]');
    await page.fill('[data-test=site-form-code]', 'E2E-P');
    await page.fill('[data-test=site-form-name]', '测试县公安局平台');
    await page.fill('[data-test=site-form-lat]', '37.06');
    await page.click('[data-test=site-form-save]');
    // the pair check shows beside longitude before anything is sent
    await expect.poll(() => page.textContent('[data-test=site-form]')).toContain('纬度和经度须同时填写或同时留空');
    await page.fill('[data-test=site-form-lon]', '115.66');
    await page.click('[data-test=site-form-save]');
    await expect.poll(() => node(page, '测试县公安局平台').count(), { timeout: 10_000 }).toBe(1);

    // a child area, its name markup shown as text
    await page.click('[data-test=site-create-child]');
    const markup = '<b>城关</b>派出所';
    await page.fill('[data-test=site-form-code]', 'E2E-A');
    await page.fill('[data-test=site-form-name]', markup);
    await page.click('[data-test=site-form-save]');
    await expect.poll(() => node(page, markup).count(), { timeout: 10_000 }).toBe(1);
    expect(await node(page, markup).getAttribute('data-kind')).toBe('area');
    expect(await page.locator('[data-test=site-tree] b').count()).toBe(0);
    const rows = (await platform.pool.query(`SELECT code, kind, parent_id, (SELECT code FROM sites p WHERE p.id = s.parent_id) AS parent FROM sites s WHERE code LIKE 'E2E-%' ORDER BY code`)).rows;
    expect(rows.map((r) => [r.code, r.kind, r.parent])).toEqual([['E2E-A', 'area', 'E2E-P'], ['E2E-P', 'platform', null]]);

    // a duplicate code is refused beside the code field, in Chinese
    await node(page, '测试县公安局平台').click();
    await page.click('[data-test=site-create-child]');
    await page.fill('[data-test=site-form-code]', 'E2E-A');
    await page.fill('[data-test=site-form-name]', '重复');
    await page.click('[data-test=site-form-save]');
    await expect.poll(() => page.textContent('[data-test=site-form]'), { timeout: 10_000 }).toContain('编码 E2E-A 已被其他机构使用');
    await page.click('[data-test=site-form-cancel]');

    // the platform has a site below it: deleting is refused with the counts
    await node(page, '测试县公安局平台').click();
    await expect.poll(() => page.textContent('[data-test=site-usage]')).toContain('1 个下级机构');
    await page.click('[data-test=site-delete]');
    await expect.poll(() => page.locator('.el-message', { hasText: '不能删除' }).count(), { timeout: 5000 }).toBe(1);
    expect((await platform.pool.query(`SELECT count(*)::int AS n FROM sites WHERE code = 'E2E-P'`)).rows[0].n).toBe(1);

    // the area is free: deleted after confirming
    await node(page, markup).click();
    await page.click('[data-test=site-delete]');
    await page.click('.el-message-box .el-button--danger');
    await expect.poll(() => node(page, markup).count(), { timeout: 10_000 }).toBe(0);
    // the device form's site picker (stores/platform loadSites) still lists the platform
    const listed = (await createDeviceRepository(platform.pool).listSites()).map((s) => s.code);
    expect(listed).toContain('E2E-P');
    expect(listed).not.toContain('E2E-A');
    await page.close();
  });
});

describe('audit page', () => {
  it('filters by who and what, expands a row, and downloads the CSV of the same filters', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, acceptDownloads: true });
    await login(page, 'sup-e2e', 'sup-e2e-password');
    await page.goto(`${base}/admin/audit`);
    await page.waitForSelector('[data-test=audit-table]');
    await page.fill('[data-test=audit-filter-actor]', 'adm-e2e');
    await page.click('[data-test=audit-filter-action]');
    await page.keyboard.type('site.');
    await page.keyboard.press('Enter');
    await page.click('[data-test=audit-search]');
    await expect.poll(async () => (await page.locator('[data-test=audit-action]').allTextContents()).sort(), { timeout: 10_000 })
      .toEqual(['site.create', 'site.create', 'site.create', 'site.delete']);
    expect(await page.textContent('[data-test=audit-table]')).toContain('新建机构');
    // the refused duplicate code is in the log too, as failed
    expect(await page.locator('[data-test=audit-outcome][data-outcome=failed]').count()).toBe(1);

    await page.locator('.el-table__expand-icon').first().click();
    await expect.poll(() => page.textContent('[data-test=audit-details]')).toContain('"code"');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=audit-export]')]);
    expect(download.suggestedFilename()).toMatch(/^audit-\d{12}\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    const lines = csv.slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^"时间（.+）","操作人"/);
    expect(lines.slice(1).map((l) => l.split('","')[3]).sort()).toEqual(['site.create', 'site.create', 'site.create', 'site.delete']);
    const exported = (await platform.pool.query(`SELECT details FROM audit_log WHERE action = 'audit.export' AND actor_name = 'sup-e2e'`)).rows;
    expect(exported).toHaveLength(1);
    expect(exported[0].details.filters).toMatchObject({ actor: 'adm-e2e', action: 'site.' });

    // a link opens the log already filtered
    await page.goto(`${base}/admin/audit?actor=adm-e2e&action=site.delete`);
    await expect.poll(() => page.locator('[data-test=audit-action]').allTextContents(), { timeout: 10_000 }).toEqual(['site.delete']);
    expect(await page.inputValue('[data-test=audit-filter-actor]')).toBe('adm-e2e');

    // a supervisor has no site or user pages
    await page.goto(`${base}/admin/sites`);
    await page.waitForURL(/\/devices/);
    expect(await page.locator('[data-test=nav-admin-sites]').count()).toBe(0);
    await page.close();
  });
});

describe('users page', () => {
  it('issues an API token for a user, shows the secret once, lists it and revokes it', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await login(page, 'adm-e2e', 'adm-e2e-password');
    await page.goto(`${base}/users`);
    const row = page.locator('[data-test=user-table] tr', { hasText: 'wallpc-e2e' });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);

    // roles: add investigator
    await row.locator('[data-test=user-roles-edit]').click();
    await page.click('[data-test=user-role-investigator]');
    await page.click('[data-test=user-roles-save]');
    await expect.poll(async () => (await platform.pool.query(`SELECT roles FROM users WHERE username = 'wallpc-e2e'`)).rows[0].roles.sort(), { timeout: 10_000 })
      .toEqual(['investigator', 'monitor']);

    await row.locator('[data-test=user-tokens]').click();
    await page.waitForSelector('[data-test=user-tokens-dialog] [data-test=token-table]');
    await page.click('[data-test=token-issue]');
    await expect.poll(() => page.textContent('[data-test=user-tokens-dialog]')).toContain('请填写用途');
    await page.fill('[data-test=token-name]', '视频墙主机 1');
    await page.click('[data-test=token-issue]');
    const secret = (await page.locator('[data-test=token-secret]').textContent({ timeout: 10_000 }))!.trim();
    expect(secret).toMatch(/^skt_/);
    await expect.poll(() => page.locator('[data-test=token-row-name]').allTextContents()).toEqual(['视频墙主机 1']);
    const me = await fetch(`${base}/api/auth/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect(((await me.json()) as { user: { username: string } }).user.username).toBe('wallpc-e2e');

    // closed and opened again: the secret is gone for good
    await page.click('[data-test=tokens-close]');
    await row.locator('[data-test=user-tokens]').click();
    await page.waitForSelector('[data-test=user-tokens-dialog] [data-test=token-row-name]');
    expect(await page.locator('[data-test=token-secret]').count()).toBe(0);
    expect(await page.textContent('[data-test=user-tokens-dialog]')).not.toContain(secret);

    await page.click('[data-test=token-revoke]');
    await page.click('.el-message-box .el-button--danger');
    await expect.poll(() => page.getAttribute('[data-test=token-state]', 'data-state'), { timeout: 10_000 }).toBe('revoked');
    expect((await fetch(`${base}/api/auth/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    await page.close();
  });
});
