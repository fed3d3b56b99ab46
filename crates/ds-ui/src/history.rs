//! Call history: user or account scope (whatever the credential allows), filters, newest first,
//! cursor pagination with "Load more", live updates from account events, and a virtualized list
//! (fixed row height; only the visible rows plus overscan are in the DOM) so 10,000 rows scroll
//! smoothly. Empty, loading and error states; Retry.

use std::rc::Rc;

use ds_core::view_model::embeds::{
    HistoryFilter, RowKind, call_back_number, event_changes_history, history_paths, merge_rows, row_kind,
    row_party, visible_window, without_excluded,
};
use ds_core::view_model::format_for_display;
use ds_protocol::json::Json;
use ds_protocol::rest::{CallLog, ListEnvelope};
use ds_web::StreamNotice;
use leptos::prelude::*;

use crate::account_link::{AccountLink, LinkError, error_code, error_words};
use crate::format;
use crate::i18n::Locale;
use crate::{handler, reactive, show};

/// Height of one row in px; must match `.ds-history-row` in the element's CSS.
pub const ROW_HEIGHT: f64 = 56.0;
/// Rows rendered above and below the viewport.
const OVERSCAN: usize = 6;
/// Viewport height assumed before the scroller was measured.
const DEFAULT_VIEWPORT: f64 = 360.0;

/// Called with `(number, call_id)` when a row's call-back button is pressed.
pub type CallBackHandler = Rc<dyn Fn(&str, &str)>;
/// Called with `(code, message)` when loading fails.
pub type ErrorHandler = Rc<dyn Fn(&str, &str)>;

#[derive(Debug, Clone, Copy)]
pub enum Text {
    Region,
    Loading,
    Empty,
    Retry,
    LoadMore,
    LoadingMore,
    CallBack,
    Unknown,
}

pub fn text(locale: Locale, key: Text) -> &'static str {
    use Locale::{En, Es};
    match (key, locale) {
        (Text::Region, En) => "Call history",
        (Text::Region, Es) => "Historial de llamadas",
        (Text::Loading, En) => "Loading calls…",
        (Text::Loading, Es) => "Cargando llamadas…",
        (Text::Empty, En) => "No calls yet.",
        (Text::Empty, Es) => "Todavía no hay llamadas.",
        (Text::Retry, En) => "Retry",
        (Text::Retry, Es) => "Reintentar",
        (Text::LoadMore, En) => "Load more",
        (Text::LoadMore, Es) => "Cargar más",
        (Text::LoadingMore, En) => "Loading more…",
        (Text::LoadingMore, Es) => "Cargando más…",
        (Text::CallBack, En) => "Call back",
        (Text::CallBack, Es) => "Devolver llamada a",
        (Text::Unknown, En) => "Unknown",
        (Text::Unknown, Es) => "Desconocido",
    }
}

/// The text alternative of a row's direction icon.
pub fn kind_text(locale: Locale, kind: RowKind) -> &'static str {
    use Locale::{En, Es};
    match (kind, locale) {
        (RowKind::Inbound, En) => "Incoming call",
        (RowKind::Inbound, Es) => "Llamada entrante",
        (RowKind::Outbound, En) => "Outgoing call",
        (RowKind::Outbound, Es) => "Llamada saliente",
        (RowKind::Internal, En) => "Internal call",
        (RowKind::Internal, Es) => "Llamada interna",
        (RowKind::Missed, En) => "Missed call",
        (RowKind::Missed, Es) => "Llamada perdida",
        (RowKind::Voicemail, En) => "Voicemail",
        (RowKind::Voicemail, Es) => "Buzón de voz",
        (RowKind::Live, En) => "Call in progress",
        (RowKind::Live, Es) => "Llamada en curso",
    }
}

fn kind_glyph(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Inbound => "↙",
        RowKind::Outbound => "↗",
        RowKind::Internal => "↔",
        RowKind::Missed => "✕",
        RowKind::Voicemail => "✉",
        RowKind::Live => "●",
    }
}

fn kind_name(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Inbound => "inbound",
        RowKind::Outbound => "outbound",
        RowKind::Internal => "internal",
        RowKind::Missed => "missed",
        RowKind::Voicemail => "voicemail",
        RowKind::Live => "live",
    }
}

/// What the list shows besides rows.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Loading,
    Failed(String),
    Ready,
}

/// The call history list.
#[component]
pub fn CallHistory(
    /// API base + credential + shared event stream.
    link: Rc<AccountLink>,
    /// What to list.
    #[prop(into)]
    filter: Signal<HistoryFilter>,
    /// Language of the words and formats.
    #[prop(into)]
    locale: Signal<Locale>,
    /// A row's call-back button was pressed.
    #[prop(optional)]
    on_call_back: Option<CallBackHandler>,
    /// Loading failed (after the error state is shown).
    #[prop(optional)]
    on_error: Option<ErrorHandler>,
    /// Accessible name of the list region (defaults to "Call history").
    #[prop(optional, into)]
    label: Option<Signal<String>>,
) -> impl IntoView {
    let link = StoredValue::new_local(link);
    let on_call_back = StoredValue::new_local(on_call_back);
    let on_error = StoredValue::new_local(on_error);
    let rows = RwSignal::new(Vec::<CallLog>::new());
    // The `next_page_url`s still to follow: one per query (a history by number is two).
    let next_pages = RwSignal::new(Vec::<String>::new());
    let phase = RwSignal::new(Phase::Loading);
    let loading_more = RwSignal::new(false);
    let scroll_top = RwSignal::new(0.0f64);
    let viewport = RwSignal::new(DEFAULT_VIEWPORT);
    let now = RwSignal::new(format::now_ms());
    // Bumped on every (re)load so a slow reply for an old filter is dropped.
    let generation = StoredValue::new(0u64);

    let fail = move |error: LinkError| {
        let words = error_words(locale.get_untracked(), &error);
        phase.set(Phase::Failed(words.clone()));
        if let Some(handler) = on_error.get_value() {
            handler(&error_code(&error), &words);
        }
    };

    let load_first = move || {
        let paths = history_paths(&filter.get_untracked());
        *generation.write_value() += 1;
        let mine = generation.get_value();
        phase.set(Phase::Loading);
        rows.set(Vec::new());
        next_pages.set(Vec::new());
        let link = link.get_value();
        leptos::task::spawn_local(async move {
            let reply = fetch_pages(&link, paths).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            match reply {
                Ok(pages) => {
                    let mut first = Vec::new();
                    let mut next = Vec::new();
                    for page in pages {
                        merge_rows(&mut first, without_excluded(page.data, &filter.get_untracked()));
                        next.extend(page.next_page_url);
                    }
                    rows.set(first);
                    next_pages.set(next);
                    phase.set(Phase::Ready);
                }
                Err(error) => fail(error),
            }
        });
    };

    // Live: a call event refetches the first page and merges it (no reset, no reload).
    let refresh_top = move || {
        if phase.get_untracked() != Phase::Ready {
            return;
        }
        let paths = history_paths(&filter.get_untracked());
        let mine = generation.get_value();
        let link = link.get_value();
        leptos::task::spawn_local(async move {
            if let Ok(pages) = fetch_pages(&link, paths).await
                && generation.try_get_value() == Some(mine)
            {
                let mut rows = rows.write();
                for page in pages {
                    merge_rows(&mut rows, without_excluded(page.data, &filter.get_untracked()));
                }
                drop(rows);
                now.set(format::now_ms());
            }
        });
    };

    let load_more = move || {
        let paths = next_pages.get_untracked();
        if paths.is_empty() || loading_more.get_untracked() {
            return;
        }
        loading_more.set(true);
        let mine = generation.get_value();
        let link = link.get_value();
        leptos::task::spawn_local(async move {
            let reply = fetch_pages(&link, paths).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            loading_more.set(false);
            match reply {
                Ok(pages) => {
                    let mut next = Vec::new();
                    let mut rows = rows.write();
                    for page in pages {
                        merge_rows(&mut rows, without_excluded(page.data, &filter.get_untracked()));
                        next.extend(page.next_page_url);
                    }
                    drop(rows);
                    next_pages.set(next);
                }
                Err(error) => fail(error),
            }
        });
    };

    // (Re)load whenever the filter changes.
    Effect::new(move |_| {
        filter.track();
        load_first();
    });

    let subscription = link.get_value().subscribe(move |notice| {
        if let StreamNotice::Event(event) = notice
            && event_changes_history(&event.name)
        {
            refresh_top();
        }
    });
    let _keep = StoredValue::new_local(subscription);
    let tick =
        set_interval_with_handle(move || now.set(format::now_ms()), std::time::Duration::from_secs(30)).ok();
    on_cleanup(move || {
        if let Some(tick) = tick {
            tick.clear();
        }
    });

    let scroller = NodeRef::<leptos::html::Div>::new();
    let measure = move || {
        if let Some(element) = scroller.get_untracked() {
            scroll_top.set(element.scroll_top() as f64);
            let height = element.client_height() as f64;
            if height > 0.0 {
                viewport.set(height);
            }
        }
    };
    Effect::new(move |_| {
        if scroller.get().is_some() {
            measure();
        }
    });

    let window = Memo::new(move |_| {
        let total = rows.read().len();
        visible_window(scroll_top.get(), viewport.get(), ROW_HEIGHT, total, OVERSCAN)
    });
    // Integer pixels (the row height is whole): formatting an f64 here was the bundle's last use
    // of float `Display` (docs/benchmarks.md, "Size work").
    let top_spacer = move || format!("{}px", window.get().0 * ROW_HEIGHT as usize);
    let bottom_spacer = move || {
        let total = rows.read().len();
        format!("{}px", (total - window.get().1) * ROW_HEIGHT as usize)
    };

    let visible_rows = move || {
        let (start, end) = window.get();
        let total = rows.read().len();
        let locale = locale.get();
        let now = now.get();
        rows.read()[start..end]
            .iter()
            .enumerate()
            .map(|(offset, call)| history_row(call, start + offset + 1, total, locale, now, on_call_back))
            .collect_view()
    };

    let region_label = move || match label {
        Some(label) => label.get(),
        None => text(locale.get(), Text::Region).to_owned(),
    };

    let body = move || {
        match phase.get() {
        Phase::Loading => view! {
            <p class="ds-state" role="status" data-state="loading">{move || text(locale.get(), Text::Loading)}</p>
        }
        .into_any(),
        Phase::Failed(words) => view! {
            <div class="ds-state ds-error" role="alert" data-state="error">
                <p>{words}</p>
                <button type="button" class="ds-button" on:click=handler(move |_| load_first())>
                    {move || text(locale.get(), Text::Retry)}
                </button>
            </div>
        }
        .into_any(),
        Phase::Ready if rows.read().is_empty() => view! {
            <p class="ds-state" role="status" data-state="empty">{move || text(locale.get(), Text::Empty)}</p>
        }
        .into_any(),
        Phase::Ready => ().into_any(),
    }
    };

    let more_to_load = move || phase.get() == Phase::Ready && !next_pages.read().is_empty();
    let load_more_button = move || {
        view! {
            <button
                type="button"
                class="ds-button ds-load-more"
                part="load-more"
                disabled=move || loading_more.get()
                on:click=handler(move |_| load_more())
            >
                {move || {
                    text(locale.get(), if loading_more.get() { Text::LoadingMore } else { Text::LoadMore })
                }}
            </button>
        }
        .into_any()
    };

    view! {
        <section class="ds-history" part="base" aria-label=reactive(region_label)>
            {reactive(body)}
            <div
                class="ds-history-scroller"
                node_ref=scroller
                role="list"
                aria-label=reactive(region_label)
                // Keyboard users can scroll it even when no row has a button.
                tabindex="0"
                hidden=move || phase.get() != Phase::Ready || rows.read().is_empty()
                on:scroll=handler(move |_| measure())
            >
                <div class="ds-spacer" aria-hidden="true" style:height=reactive(top_spacer)></div>
                {reactive(visible_rows)}
                <div class="ds-spacer" aria-hidden="true" style:height=reactive(bottom_spacer)></div>
            </div>
            {show(Box::new(more_to_load), Box::new(load_more_button))}
        </section>
    }
}

/// One page of each path, in order; the first failure stops and is returned.
async fn fetch_pages(
    link: &AccountLink,
    paths: Vec<String>,
) -> Result<Vec<ListEnvelope<CallLog>>, LinkError> {
    let mut pages = Vec::with_capacity(paths.len());
    for path in paths {
        let value = link.get(&path).await?;
        pages.push(parse_page(value).map_err(LinkError::Api)?);
    }
    Ok(pages)
}

fn parse_page(value: Json) -> Result<ListEnvelope<CallLog>, ds_web::ApiError> {
    ListEnvelope::<CallLog>::from_json(&value).map_err(ds_web::ApiError::BadBody)
}

fn history_row(
    call: &CallLog,
    position: usize,
    total: usize,
    locale: Locale,
    now: f64,
    on_call_back: StoredValue<Option<CallBackHandler>, LocalStorage>,
) -> impl IntoView + use<> {
    let kind = row_kind(call);
    let (label, number) = row_party(call);
    let shown_number = format_for_display(number);
    let party = label.map(str::to_owned).unwrap_or_else(|| shown_number.clone());
    let secondary = label.is_some().then(|| shown_number.clone());
    let started = format::parse_timestamp(&call.started_at);
    let when = started.map(|at| format::relative(locale, at, now)).unwrap_or_default();
    let when_full = started.map(|at| format::date_time(locale, at)).unwrap_or_default();
    let duration = call
        .duration_seconds
        .filter(|_| kind != RowKind::Missed)
        .map(|s| format::duration(locale, s.max(0) as u64, false));
    let call_back = call_back_number(call).map(|n| (n.to_owned(), call.id.clone()));
    let back_label = format!("{} {}", text(locale, Text::CallBack), party);
    let button = call_back.map(|(number, call_id)| {
        view! {
            <button
                type="button"
                class="ds-call-back"
                aria-label=back_label
                on:click=handler(move |_| {
                    if let Some(handler) = on_call_back.get_value() {
                        handler(&number, &call_id);
                    }
                })
            >
                "☎"
            </button>
        }
        .into_any()
    });
    view! {
        <div
            class="ds-history-row"
            part="history-row"
            role="listitem"
            data-kind=kind_name(kind)
            data-call-id=call.id.clone()
            aria-posinset=position
            aria-setsize=total
        >
            <span class="ds-kind" role="img" aria-label=kind_text(locale, kind)>
                {kind_glyph(kind)}
            </span>
            <span class="ds-party">
                <span class="ds-party-name">{party}</span>
                {secondary.map(|n| view! { <span class="ds-party-number">{n}</span> }.into_any())}
            </span>
            <span class="ds-when">
                <time datetime=call.started_at.clone() title=when_full>{when}</time>
                {duration.map(|d| view! { <span class="ds-duration">{d}</span> }.into_any())}
            </span>
            {button}
        </div>
    }
}
