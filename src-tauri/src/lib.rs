//! Baton's desktop shell: starts the engine for a profile, exposes its facade as Tauri
//! commands and forwards its events to the window. No mail logic lives here.

mod commands;
mod file_drop;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use baton::Engine;
use baton::profile::Profile;
use baton::secrets::OsKeychain;
use tauri::{
    Builder, DragDropEvent, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder,
    WindowEvent,
};

use crate::file_drop::{Dropped, LastDrop};

/// The name of the event that carries `EngineEvent`s to the window.
pub const ENGINE_EVENT: &str = "engine-event";
/// The keychain service name for passwords.
pub const KEYCHAIN_SERVICE: &str = "baton";

/// Command-line options: `--profile NAME` runs a second member side by side.
#[derive(Debug, Clone)]
pub struct Options {
    pub profile: String,
    /// Where profiles live; the platform's app-data directory unless `BATON_DATA_DIR`
    /// says otherwise (the demo and the tests use their own).
    pub data_dir: Option<PathBuf>,
}

impl Options {
    pub fn from_args(args: impl Iterator<Item = String>) -> Options {
        let mut profile = "default".to_owned();
        let mut args = args.skip(1);
        while let Some(arg) = args.next() {
            if arg == "--profile" {
                if let Some(name) = args.next() {
                    profile = name;
                }
            } else if let Some(name) = arg.strip_prefix("--profile=") {
                profile = name.to_owned();
            }
        }
        Options {
            profile,
            data_dir: std::env::var_os("BATON_DATA_DIR").map(PathBuf::from),
        }
    }
}

/// Everything but the runtime, so tests can build the app on a mock runtime.
pub fn build_app<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        // Native drag-and-drop: the OS names the dropped files to the shell, which keeps
        // them for `attach_dropped`. Tauri sends the same drop to the page just before
        // calling this handler on the event loop; the page's `attach_dropped` comes back
        // through that loop too, so the paths are recorded before it can be answered.
        .manage(LastDrop::default())
        .on_window_event(|window, event| {
            if let WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) = event {
                window.state::<LastDrop>().record(Dropped {
                    window: window.label().to_owned(),
                    paths: paths.clone(),
                    at: Instant::now(),
                });
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::get_setup,
            commands::save_account,
            commands::get_connectivity,
            commands::retry_now,
            commands::list_conversations,
            commands::get_conversation,
            commands::get_message_body,
            commands::save_attachment,
            commands::open_link,
            commands::act_on_conversation,
            commands::get_team,
            commands::get_presence,
            commands::report_activity,
            commands::host_team_server,
            commands::stop_hosting,
            commands::invite_colleague,
            commands::join_team_server,
            commands::leave_team_server,
            commands::get_compose_settings,
            commands::save_compose_settings,
            commands::start_draft,
            commands::save_draft,
            commands::list_drafts,
            commands::discard_draft,
            commands::attach_files,
            commands::attach_dropped,
            commands::detach_file,
            commands::check_draft,
            commands::send_draft,
            commands::undo_send,
            commands::list_outbox,
            commands::send_again,
            commands::mark_sent,
            commands::recheck_sent,
            commands::discard_outbox,
            commands::send_held,
            commands::list_templates,
            commands::save_template,
            commands::delete_template,
            commands::fill_template,
            commands::list_notes,
            commands::add_note,
            commands::edit_note,
            commands::delete_note,
            commands::list_mentions,
            commands::mentions_seen,
            commands::get_activity,
            commands::get_notification_settings,
            commands::save_notification_settings,
        ])
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let options = Options::from_args(std::env::args());
    let app = build_app(tauri::Builder::default())
        .plugin(single_instance(&options.profile))
        .setup(move |app| {
            let base = match &options.data_dir {
                Some(dir) => dir.clone(),
                None => app.path().app_data_dir()?,
            };
            let profile = Profile::open(&base, &options.profile)?;
            let secrets = Arc::new(OsKeychain::new(KEYCHAIN_SERVICE, profile.name()));
            let engine = tauri::async_runtime::block_on(Engine::open(profile, secrets))?;
            let mut events = engine.events();
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                while let Some(event) = events.next().await {
                    let _ = handle.emit(ENGINE_EVENT, event);
                }
            });
            app.manage(engine);
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                .title(format!("Baton — {}", options.profile))
                .inner_size(1280.0, 800.0)
                .min_inner_size(800.0, 500.0)
                .build()?;
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Baton could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(engine) = handle.try_state::<Engine>()
        {
            tauri::async_runtime::block_on(engine.shutdown());
        }
    });
}

/// One window per profile: a second launch of the same profile focuses the first, while
/// two profiles (two members on one computer) run side by side. The plugin keys on a
/// D-Bus name on Linux, which we make per profile; on Windows and macOS it keys on the
/// app identifier, so there it guards the default profile only.
fn single_instance<R: Runtime>(profile: &str) -> tauri::plugin::TauriPlugin<R> {
    let focus = |app: &tauri::AppHandle<R>, _args: Vec<String>, _cwd: String| {
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.unminimize();
            let _ = window.set_focus();
        }
    };
    let element: String = profile
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let builder = tauri_plugin_single_instance::Builder::new().callback(focus);
    let builder = if cfg!(target_os = "linux") || profile == "default" {
        builder.dbus_id(format!("app.baton.desktop.p_{element}"))
    } else {
        return tauri::plugin::Builder::new("single-instance-off").build();
    };
    builder.build()
}
