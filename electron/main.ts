import { app, BrowserWindow, desktopCapturer, dialog, ipcMain, Menu, type MenuItemConstructorOptions, net, powerMonitor, protocol, screen, session, shell, type WebContents } from 'electron';
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger, jsonLinesSink } from './app/logger.js';
import { createServices, type AppServices } from './app/services.js';
import { builtInBundleId } from './engine/bundle-location.js';
import { nodeMonitorSources, type MonitorSources } from './monitor/resource-monitor.js';
import { rendererContentSecurityPolicy } from './ipc/content-security-policy.js';
import { electronIpc, fail, type AppView } from './ipc/contract.js';
import {
  appOrigin,
  appScheme,
  isAllowedRequest,
  isAppUrl,
  isExternalLinkAllowed,
  rendererFileFor,
} from './shell/navigation-policy.js';
import { fitToDisplays, minimumWindowSize, parseWindowState, type WindowState } from './shell/window-state.js';

/**
 * The Electron shell: window, lifecycle and security wiring only. Every capability lives in
 * the services built by createServices, which the browser host serves the same way.
 */

const distDirectory = join(fileURLToPath(import.meta.url), '..', '..');
const rendererDirectory = join(distDirectory, 'renderer');
const preloadPath = join(distDirectory, 'electron', 'preload.cjs');
const logger = createLogger(jsonLinesSink(process.stderr));

// Must run before `ready`: the app scheme behaves like https (secure context, fetch, CSP 'self').
protocol.registerSchemesAsPrivileged([
  { scheme: appScheme, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

function windowStatePath(): string {
  return join(app.getPath('userData'), 'window-state.json');
}

function loadWindowState(): WindowState {
  let text: string | undefined;
  try {
    text = readFileSync(windowStatePath(), 'utf8');
  } catch {
    text = undefined;
  }
  const primary = screen.getPrimaryDisplay().workArea;
  return fitToDisplays(parseWindowState(text), screen.getAllDisplays().map((display) => display.workArea), primary);
}

async function saveWindowState(window: BrowserWindow): Promise<void> {
  const state: WindowState = { bounds: window.getNormalBounds(), maximized: window.isMaximized() };
  const target = windowStatePath();
  // Write then rename, so a crash mid-write never leaves a half-written file behind.
  await writeFile(`${target}.tmp`, JSON.stringify(state));
  await rename(`${target}.tmp`, target);
}

function createMainWindow(): BrowserWindow {
  const state = loadWindowState();
  const window = new BrowserWindow({
    ...state.bounds,
    minWidth: minimumWindowSize.width,
    minHeight: minimumWindowSize.height,
    show: false,
    title: 'Nestcap',
    backgroundColor: '#1b1d23',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  if (state.maximized) window.maximize();
  window.once('ready-to-show', () => window.show());
  window.on('close', () => {
    void saveWindowState(window).catch((error: unknown) => logger.warn('could not save window state', { error: String(error) }));
  });
  void window.loadURL(`${appOrigin}/index.html`);
  return window;
}

function serveRenderer(services: AppServices): void {
  protocol.handle(appScheme, async (request) => {
    const url = new URL(request.url);
    if (url.pathname.startsWith('/media/')) {
      // Library media for the editor's player; the key in the URL was issued by the services.
      const path = services.resolveMediaFile(Number(url.pathname.slice('/media/'.length)), url.searchParams.get('key') ?? '');
      if (path === undefined) return new Response('Forbidden', { status: 403 });
      return net.fetch(pathToFileURL(path).toString(), { headers: request.headers });
    }
    const file = rendererFileFor(request.url, rendererDirectory, sep);
    if (file === undefined) return new Response('Not found', { status: 404 });
    const response = await net.fetch(pathToFileURL(file).toString());
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', rendererContentSecurityPolicy);
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(response.body, { status: response.status, headers });
  });
}

function lockDownSession(): void {
  const defaultSession = session.defaultSession;
  defaultSession.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequest(details.url);
    if (!allowed) logger.warn('blocked a request for remote or foreign content', { url: details.url.slice(0, 200) });
    callback({ cancel: !allowed });
  });
  // Only the microphone/camera (live captions) may be asked for, and only by the app's own page.
  defaultSession.setPermissionRequestHandler((contents, permission, callback) => {
    callback(permission === 'media' && isAppUrl(contents.getURL()));
  });
  defaultSession.setPermissionCheckHandler((contents, permission) => permission === 'media' && isAppUrl(contents?.getURL() ?? ''));
  // "System audio" in live captions: the OS's loopback of what the speakers play (Windows, macOS).
  // A screen source must accompany it; the page drops the video track at once.
  defaultSession.setDisplayMediaRequestHandler((request, callback) => {
    if (!isAppUrl(request.frame?.url ?? '')) {
      callback({});
      return;
    }
    void desktopCapturer.getSources({ types: ['screen'] }).then(
      (sources) => callback(sources[0] ? { video: sources[0], audio: 'loopback' } : {}),
      () => callback({}),
    );
  });
}

/** The always-on-top caption overlay, opened by the page as a same-origin popup. */
const overlayFrameName = 'nestcap-overlay';
let overlayWindow: BrowserWindow | undefined;

function trackOverlay(contents: WebContents): void {
  contents.on('did-create-window', (window, details) => {
    if (details.frameName !== overlayFrameName) return;
    overlayWindow = window;
    window.setAlwaysOnTop(true, 'screen-saver');
    window.setVisibleOnAllWorkspaces(true);
    window.on('closed', () => (overlayWindow = undefined));
  });
}

function setOverlayClickThrough(enabled: boolean): boolean {
  if (!overlayWindow || overlayWindow.isDestroyed()) return false;
  // forward: the overlay still sees the mouse move over it, so it can fade while hovered.
  overlayWindow.setIgnoreMouseEvents(enabled, { forward: true });
  return true;
}

function hardenWebContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) {
      event.preventDefault();
      logger.warn('blocked navigation away from the app', { url: url.slice(0, 200) });
    }
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url, frameName }) => {
    // The page renders the overlay itself into a blank same-origin popup; nothing is loaded into it.
    if (frameName === overlayFrameName && (url === '' || url === 'about:blank')) {
      return {
        action: 'allow',
        overrideBrowserWindowOptions: {
          width: 900,
          height: 180,
          frame: false,
          transparent: true,
          alwaysOnTop: true,
          skipTaskbar: true,
          resizable: true,
          title: 'Nestcap captions',
          webPreferences: { contextIsolation: true, nodeIntegration: false, sandbox: true },
        },
      };
    }
    if (isExternalLinkAllowed(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  trackOverlay(contents);
}

function wireIpc(services: AppServices): void {
  ipcMain.handle(electronIpc.request, async (event, channel: unknown, payload: unknown) => {
    // Only our own page may talk to the services, even if some other frame gets loaded.
    if (!event.senderFrame || !isAppUrl(event.senderFrame.url)) {
      logger.warn('rejected IPC from a foreign frame', { url: event.senderFrame?.url });
      return fail('unauthorized', 'IPC is only accepted from the app window');
    }
    return services.dispatch(channel, payload);
  });
  ipcMain.on(electronIpc.mediaPort, (event) => {
    const [port] = event.ports;
    if (!port) return;
    if (!event.senderFrame || !isAppUrl(event.senderFrame.url)) {
      logger.warn('rejected a media port from a foreign frame', { url: event.senderFrame?.url });
      port.close();
      return;
    }
    let lastComplaint = 0;
    port.on('message', (message) => {
      const data: unknown = message.data;
      const result =
        data instanceof ArrayBuffer || ArrayBuffer.isView(data)
          ? services.acceptMediaFrame(data)
          : fail('invalid-request', 'live media frames are ArrayBuffers');
      if (!result.ok && Date.now() - lastComplaint > 1000) {
        lastComplaint = Date.now();
        logger.warn('dropped a live media frame', { error: result.error });
      }
    });
    port.start();
  });
  services.events.subscribe((event, payload) => {
    for (const window of BrowserWindow.getAllWindows()) window.webContents.send(electronIpc.event, event, payload);
  });
}

/** Native menus: every item either uses a native dialog here or tells the page what to show. */
function buildMenu(services: AppServices, window: () => BrowserWindow): void {
  const show = (view: AppView) => () => services.events.emit('app.command', { command: 'show-view', view });
  const addFolder = async () => {
    const choice = await dialog.showOpenDialog(window(), { title: 'Add a folder of recordings', properties: ['openDirectory'] });
    const path = choice.filePaths[0];
    if (choice.canceled || path === undefined) return;
    const result = await services.dispatch('library.addFolder', { path, watch: true });
    if (!result.ok) await dialog.showMessageBox(window(), { type: 'error', message: 'The folder could not be added', detail: result.error.message });
    else show('library')();
  };
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Add Folder…', accelerator: 'CmdOrCtrl+O', click: () => void addFolder() },
        { type: 'separator' },
        process.platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { label: 'Live Captions', accelerator: 'CmdOrCtrl+1', click: show('live') },
        { label: 'Library', accelerator: 'CmdOrCtrl+2', click: show('library') },
        { label: 'Status and Resources', accelerator: 'CmdOrCtrl+3', click: show('status') },
        { label: 'Settings', accelerator: 'CmdOrCtrl+,', click: show('settings') },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    { role: 'help', submenu: [{ label: 'Keyboard Shortcuts', accelerator: 'F1', click: () => services.events.emit('app.command', { command: 'show-shortcuts' }) }] },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

/** The OS's own view of power and heat where Electron has it; battery percent still comes from the OS. */
function electronMonitorSources(): MonitorSources {
  const base = nodeMonitorSources(process.platform);
  let thermal: ReturnType<typeof powerMonitor.getCurrentThermalState> | undefined;
  if (process.platform === 'darwin') {
    thermal = powerMonitor.getCurrentThermalState();
    powerMonitor.on('thermal-state-change', (details) => (thermal = details.state));
  }
  return {
    ...base,
    power: async () => ({ ...(await base.power()), source: powerMonitor.isOnBatteryPower() ? 'battery' : 'ac' }),
    thermal: () => (thermal === undefined || thermal === 'unknown' ? undefined : thermal),
  };
}

function start(): void {
  const services = createServices({
    app: { name: app.getName(), version: app.getVersion() },
    host: 'electron',
    dataDirectory: app.getPath('userData'),
    env: process.env,
    logger,
    // Model files are unpacked from the asar archive, because ONNX Runtime opens them natively.
    bundleDirectory: join(app.getAppPath(), 'native-models', builtInBundleId).replace(`app.asar${sep}`, `app.asar.unpacked${sep}`),
    monitorSources: electronMonitorSources(),
    overlay: { setClickThrough: setOverlayClickThrough },
  });
  serveRenderer(services);
  lockDownSession();
  wireIpc(services);
  let mainWindow = createMainWindow();
  buildMenu(services, () => mainWindow);

  app.on('second-instance', () => {
    if (mainWindow.isDestroyed()) mainWindow = createMainWindow();
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) mainWindow = createMainWindow();
  });
  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    // Finish the live session and close the database before the process ends.
    event.preventDefault();
    void services.close().finally(() => {
      closed = true;
      app.quit();
    });
  });
}

if (!app.requestSingleInstanceLock()) {
  // Another Nestcap owns the database and the devices; it gets focus via 'second-instance'.
  app.quit();
} else {
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  void app.whenReady().then(start);
}
