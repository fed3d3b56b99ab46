//! The softphone's words in English and Spanish. Decisions come from `ds_core::view_model` as keys
//! (enums); this table only names them. Strings are `&'static str` so that rendering allocates only
//! for text with a number or a name in it.

use ds_core::view_model::{
    CallStateKind, CannotPlaceCall, ConnectionStatus, DialInputNotice, DisabledReason, EndSummary, ErrorKind,
    QualityLevel,
};

use ds_core::view_model::emergency::{AddressField, AddressProblem};

use crate::i18n::Locale;

macro_rules! fixed_words {
    ($($key:ident => ($en:expr, $es:expr),)*) => {
        /// Fixed words of the softphone.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Text {
            $($key,)*
        }

        /// `[English, Spanish]` of every [`Text`], in the enum's order. A table rather than a
        /// `match`: indexing data costs a few bytes of code where a match costs some per word.
        const FIXED_WORDS: [[&str; 2]; [$(stringify!($key)),*].len()] = [$([$en, $es]),*];
    };
}

fixed_words! {
    Softphone => ("Softphone", "Teléfono"),
    NumberToCall => ("Number to call", "Número a marcar"),
    DialPad => ("Dial pad", "Teclado"),
    DeleteDigit => ("Delete last digit", "Borrar el último dígito"),
    Call => ("Call", "Llamar"),
    IncomingCall => ("Incoming call", "Llamada entrante"),
    Answer => ("Answer", "Contestar"),
    Decline => ("Decline", "Rechazar"),
    CallWaiting => ("Call waiting", "Llamada en espera"),
    CurrentCall => ("Current call", "Llamada actual"),
    CallControls => ("Call controls", "Controles de la llamada"),
    Mute => ("Mute", "Silenciar"),
    Unmute => ("Unmute", "Activar micrófono"),
    Hold => ("Hold", "Poner en espera"),
    Resume => ("Resume", "Reanudar"),
    Keypad => ("Keypad", "Teclado de tonos"),
    Transfer => ("Transfer", "Transferir"),
    TransferTo => ("Transfer to", "Transferir a"),
    TransferNow => ("Transfer now", "Transferir ya"),
    ConsultFirst => ("Consult first", "Consultar antes"),
    CompleteTransfer => ("Complete transfer", "Completar la transferencia"),
    CancelTransfer => ("Cancel transfer", "Cancelar la transferencia"),
    HangUp => ("Hang up", "Colgar"),
    CallsOnHold => ("Calls on hold", "Llamadas en espera"),
    SwitchTo => ("Switch to", "Cambiar a"),
    DigitsSent => ("Digits sent", "Dígitos enviados"),
    AudioSettings => ("Audio settings", "Ajustes de audio"),
    Microphone => ("Microphone", "Micrófono"),
    Speaker => ("Speaker", "Altavoz"),
    SystemDefault => ("System default", "Predeterminado del sistema"),
    CallQuality => ("Call quality", "Calidad de la llamada"),
    QualityDetails => ("Quality details", "Detalles de calidad"),
    Jitter => ("Jitter", "Variación de retardo"),
    PacketLoss => ("Packet loss", "Pérdida de paquetes"),
    RoundTrip => ("Round trip", "Ida y vuelta"),
    OneWayAudio => ("No sound is reaching you from the other side", "No llega sonido del otro lado"),
    EnableAudio => ("Click to enable audio", "Haga clic para activar el audio"),
    DismissError => ("Dismiss error", "Descartar el error"),
    Reconnect => ("Reconnect", "Reconectar"),
    EmergencyConfirm => ("Your network changed: confirm your emergency address so emergency services can find you.", "Su red cambió: confirme su dirección de emergencia para que los servicios de emergencia puedan encontrarle."),
    EmergencyRequired => ("Outside calls need an emergency address for this network.", "Las llamadas externas necesitan una dirección de emergencia para esta red."),
    EmergencyAddress => ("Emergency address", "Dirección de emergencia"),
    EmergencyNoAddress => ("Add your emergency address so emergency services can find you.", "Añada su dirección de emergencia para que los servicios de emergencia puedan encontrarle."),
    EmergencyNotBound => ("It applies once the phone reconnects.", "Se aplicará cuando el teléfono se vuelva a conectar."),
    AddAddress => ("Add address", "Añadir dirección"),
    ChangeAddress => ("Change address", "Cambiar dirección"),
    ConfirmOnNetwork => ("Confirm address on this network", "Confirmar la dirección en esta red"),
    Street => ("Street address", "Calle y número"),
    Unit => ("Apartment, suite or floor (optional)", "Piso, apartamento u oficina (opcional)"),
    City => ("City", "Ciudad"),
    State => ("State", "Estado"),
    ZipCode => ("ZIP code", "Código postal"),
    SaveAddress => ("Save address", "Guardar dirección"),
    Saving => ("Saving…", "Guardando…"),
    Cancel => ("Cancel", "Cancelar"),
    AddressNotVerified => ("This address could not be verified:", "No se pudo verificar esta dirección:"),
    AddressNotSaved => ("The address could not be saved. Check your connection and try again.", "No se pudo guardar la dirección. Compruebe su conexión e inténtelo de nuevo."),
    Unknown => ("Unknown", "Desconocido"),
    SharedWithOtherTab => ("Shared with your other tab, which plays the audio", "Compartido con tu otra pestaña, que reproduce el audio"),
    DeviceUnplugged => ("Your chosen audio device was unplugged; using the system default", "Se desconectó el dispositivo de audio elegido; se usa el predeterminado"),
    ConnectionStatus => ("Connection status", "Estado de la conexión"),
    SoundReceived => ("Sound received", "Sonido recibido"),
    Yes => ("yes", "sí"),
    No => ("no", "no"),
    NoCredentials => ("This softphone has no credentials: set token-url or tokenProvider.", "Este teléfono no tiene credenciales: defina token-url o tokenProvider."),
}

pub fn text(locale: Locale, key: Text) -> &'static str {
    // `Locale` lists English first, then Spanish, as the table's rows do.
    FIXED_WORDS[key as usize][locale as usize]
}

/// The status chip.
pub fn status_text(locale: Locale, status: ConnectionStatus) -> String {
    let es = locale == Locale::Es;
    match status {
        ConnectionStatus::Reconnecting { attempt } => {
            if es {
                format!("Reconectando (intento {attempt})…")
            } else {
                format!("Reconnecting (attempt {attempt})…")
            }
        }
        other => {
            let words = match (other, es) {
                (ConnectionStatus::Idle, false) => "Not connected",
                (ConnectionStatus::Idle, true) => "Sin conexión",
                (ConnectionStatus::Connecting, false) => "Connecting…",
                (ConnectionStatus::Connecting, true) => "Conectando…",
                (ConnectionStatus::Connected, false) => "Connected",
                (ConnectionStatus::Connected, true) => "Conectado",
                (ConnectionStatus::Disconnected, false) => "Disconnected",
                (ConnectionStatus::Disconnected, true) => "Desconectado",
                (_, false) => "Connection error",
                (_, true) => "Error de conexión",
            };
            words.to_owned()
        }
    }
}

pub fn cannot_call_text(locale: Locale, why: &CannotPlaceCall) -> &'static str {
    let es = locale == Locale::Es;
    match (why, es) {
        (
            CannotPlaceCall::NotConnected(
                ConnectionStatus::Connecting | ConnectionStatus::Reconnecting { .. },
            ),
            false,
        ) => "Still connecting — try again in a moment",
        (
            CannotPlaceCall::NotConnected(
                ConnectionStatus::Connecting | ConnectionStatus::Reconnecting { .. },
            ),
            true,
        ) => "Conectando todavía; inténtelo en un momento",
        (CannotPlaceCall::NotConnected(_), false) => "Not connected",
        (CannotPlaceCall::NotConnected(_), true) => "Sin conexión",
        (CannotPlaceCall::EmptyDestination, false) => "Enter a number to call",
        (CannotPlaceCall::EmptyDestination, true) => "Escriba un número para llamar",
        (CannotPlaceCall::Busy, false) => "Finish setting up the current call first",
        (CannotPlaceCall::Busy, true) => "Espere a que se establezca la llamada actual",
    }
}

pub fn dial_notice_text(locale: Locale, notice: DialInputNotice) -> &'static str {
    match (notice, locale) {
        (DialInputNotice::IgnoredCharacters, Locale::En) => {
            "Only digits, +, * and # can be dialled; other characters were left out"
        }
        (DialInputNotice::IgnoredCharacters, Locale::Es) => {
            "Solo se marcan dígitos, +, * y #; se quitaron los demás caracteres"
        }
        (DialInputNotice::TooLong, Locale::En) => "That is too long: only the first 32 characters are kept",
        (DialInputNotice::TooLong, Locale::Es) => "Es demasiado largo: se guardan los primeros 32 caracteres",
    }
}

pub fn state_text(locale: Locale, kind: CallStateKind) -> &'static str {
    let es = locale == Locale::Es;
    match kind {
        CallStateKind::Ended => {
            if es {
                "Finalizada"
            } else {
                "Ended"
            }
        }
        CallStateKind::Ending => {
            if es {
                "Finalizando…"
            } else {
                "Ending…"
            }
        }
        CallStateKind::Answering => {
            if es {
                "Conectando…"
            } else {
                "Connecting…"
            }
        }
        CallStateKind::Calling => {
            if es {
                "Llamando…"
            } else {
                "Calling…"
            }
        }
        CallStateKind::Ringing => {
            if es {
                "Sonando…"
            } else {
                "Ringing…"
            }
        }
        CallStateKind::Incoming => {
            if es {
                "Llamada entrante"
            } else {
                "Incoming call"
            }
        }
        CallStateKind::Connected => {
            if es {
                "Conectada"
            } else {
                "Connected"
            }
        }
        CallStateKind::HeldByRemote => {
            if es {
                "En espera por la otra parte"
            } else {
                "Held by other party"
            }
        }
        CallStateKind::OnHold => {
            if es {
                "En espera"
            } else {
                "On hold"
            }
        }
    }
}

pub fn end_text(locale: Locale, summary: EndSummary) -> &'static str {
    let es = locale == Locale::Es;
    match summary {
        EndSummary::Ended => {
            if es {
                "Llamada finalizada"
            } else {
                "Call ended"
            }
        }
        EndSummary::Busy => {
            if es {
                "Ocupado"
            } else {
                "Busy"
            }
        }
        EndSummary::NoAnswer => {
            if es {
                "Sin respuesta"
            } else {
                "No answer"
            }
        }
        EndSummary::Failed => {
            if es {
                "La llamada falló"
            } else {
                "Call failed"
            }
        }
        EndSummary::Declined => {
            if es {
                "Llamada rechazada"
            } else {
                "Call declined"
            }
        }
        EndSummary::Transferred => {
            if es {
                "Llamada transferida"
            } else {
                "Call transferred"
            }
        }
    }
}

pub fn disabled_text(locale: Locale, why: DisabledReason) -> &'static str {
    if locale == Locale::En {
        return why.english();
    }
    match why {
        DisabledReason::NotConnected => "Sin conexión",
        DisabledReason::NotAnswered => "La llamada aún no se ha contestado",
        DisabledReason::HeldByRemote => "La otra parte puso la llamada en espera",
        DisabledReason::OnHold => "La llamada está en espera",
        DisabledReason::TransferInProgress => "Ya hay una transferencia en curso",
        DisabledReason::NoTransfer => "No hay ninguna transferencia en curso",
        DisabledReason::Ending => "Finalizando la llamada…",
    }
}

pub fn quality_text(locale: Locale, level: QualityLevel) -> &'static str {
    let es = locale == Locale::Es;
    match level {
        QualityLevel::Good => {
            if es {
                "Buena"
            } else {
                "Good"
            }
        }
        QualityLevel::Fair => {
            if es {
                "Regular"
            } else {
                "Fair"
            }
        }
        QualityLevel::Poor => {
            if es {
                "Mala"
            } else {
                "Poor"
            }
        }
    }
}

pub fn error_text(locale: Locale, kind: ErrorKind) -> &'static str {
    let es = locale == Locale::Es;
    match kind {
        ErrorKind::MicrophoneBlocked => {
            if es {
                "El navegador bloqueó el micrófono. Permita el acceso en la barra de direcciones."
            } else {
                "The browser blocked the microphone. Allow access from the address bar."
            }
        }
        ErrorKind::NoMicrophone => {
            if es {
                "No se encontró ningún micrófono."
            } else {
                "No microphone was found."
            }
        }
        ErrorKind::MicrophoneInUse => {
            if es {
                "Otra aplicación está usando el micrófono."
            } else {
                "Another application is using the microphone."
            }
        }
        ErrorKind::AudioBlocked => {
            if es {
                "El navegador bloqueó el sonido."
            } else {
                "The browser blocked sound."
            }
        }
        ErrorKind::SignedOut => {
            if es {
                "Su sesión terminó. Vuelva a iniciar sesión."
            } else {
                "Your session ended. Please sign in again."
            }
        }
        ErrorKind::SignInFailed => {
            if es {
                "No se pudo iniciar sesión en el teléfono."
            } else {
                "The phone could not sign in."
            }
        }
        ErrorKind::OtherTab => {
            if es {
                "El teléfono está abierto en otra pestaña o dispositivo."
            } else {
                "The phone is open in another tab or device."
            }
        }
        ErrorKind::EmergencyAddress => {
            if es {
                "Las llamadas externas necesitan una dirección de emergencia."
            } else {
                "Outside calls need an emergency address."
            }
        }
        ErrorKind::CallFailed => {
            if es {
                "La llamada no se pudo completar."
            } else {
                "The call could not be completed."
            }
        }
        ErrorKind::NotConnected => {
            if es {
                "Se perdió la conexión con el servidor."
            } else {
                "The connection to the server was lost."
            }
        }
        ErrorKind::Network => {
            if es {
                "No se pudo contactar con el servidor del teléfono."
            } else {
                "The phone server could not be reached."
            }
        }
        ErrorKind::TooManyCalls => {
            if es {
                "Hay demasiadas llamadas abiertas."
            } else {
                "Too many calls are open."
            }
        }
        ErrorKind::TryLater => {
            if es {
                "El servicio no está disponible. Inténtelo más tarde."
            } else {
                "The service is unavailable. Try again later."
            }
        }
        ErrorKind::InvalidNumber => {
            if es {
                "Eso no se pudo hacer ahora."
            } else {
                "That could not be done right now."
            }
        }
        ErrorKind::Generic => {
            if es {
                "Algo salió mal."
            } else {
                "Something went wrong."
            }
        }
    }
}

/// What is wrong with one field of the emergency address form, as the user can fix it.
pub fn address_problem_text(locale: Locale, field: AddressField, problem: AddressProblem) -> &'static str {
    let es = locale == Locale::Es;
    match (problem, field) {
        (AddressProblem::NotAStateCode, _) => {
            if es {
                "Use el código de dos letras del estado, por ejemplo MA."
            } else {
                "Use the two-letter state code, such as MA."
            }
        }
        (AddressProblem::NotAZipCode, _) => {
            if es {
                "Use un código postal de 5 dígitos, por ejemplo 02110."
            } else {
                "Use a 5-digit ZIP code, such as 02110."
            }
        }
        (AddressProblem::Required, AddressField::City) => {
            if es {
                "Escriba la ciudad."
            } else {
                "Enter the city."
            }
        }
        (AddressProblem::Required, AddressField::State) => {
            if es {
                "Escriba el estado."
            } else {
                "Enter the state."
            }
        }
        (AddressProblem::Required, AddressField::PostalCode) => {
            if es {
                "Escriba el código postal."
            } else {
                "Enter the ZIP code."
            }
        }
        (AddressProblem::Required, _) => {
            if es {
                "Escriba la calle y el número."
            } else {
                "Enter the street address."
            }
        }
    }
}

/// The live-region announcement of a ringing call.
pub fn incoming_from(locale: Locale, who: &str) -> String {
    match locale {
        Locale::En => format!("Incoming call from {who}"),
        Locale::Es => format!("Llamada entrante de {who}"),
    }
}
