//! Every message the API shows a person, in English, Spanish, Catalan and Dutch (as Soffid's
//! `Accept-Language`), in one table. Names, values and technical fragments stay as they are.

pub use shared::i18n::{Lang, Text};

macro_rules! texts {
    ($($name:ident => [$en:literal, $es:literal, $ca:literal, $nl:literal]),+ $(,)?) => {
        $(pub const $name: Text = Text::new($en, $es, $ca, $nl);)+
    };
}

texts! {
    UNAUTHORIZED => [
        "Authentication required: send valid credentials.",
        "Se requiere autenticación: envíe credenciales válidas.",
        "Cal autenticació: envieu credencials vàlides.",
        "Authenticatie vereist: stuur geldige inloggegevens."],
    THROTTLED => [
        "Too many sign-in attempts from this address or for this account; try again in {} seconds.",
        "Demasiados intentos de inicio de sesión desde esta dirección o para esta cuenta; inténtelo de nuevo en {} segundos.",
        "Massa intents d'inici de sessió des d'aquesta adreça o per a aquest compte; torneu-ho a provar d'aquí a {} segons.",
        "Te veel aanmeldpogingen vanaf dit adres of voor dit account; probeer het over {} seconden opnieuw."],
    SEND_REFUSED => [
        "No code was sent: too many codes went to this device or destination recently; try again in {} seconds.",
        "No se ha enviado ningún código: se han enviado demasiados códigos a este dispositivo o destino recientemente; inténtelo de nuevo en {} segundos.",
        "No s'ha enviat cap codi: s'han enviat massa codis a aquest dispositiu o destinació recentment; torneu-ho a provar d'aquí a {} segons.",
        "Er is geen code verstuurd: er zijn onlangs te veel codes naar dit apparaat of deze bestemming gestuurd; probeer het over {} seconden opnieuw."],
    FORBIDDEN => [
        "Your account lacks the right {} needed for this operation.",
        "Su cuenta no tiene el derecho {} necesario para esta operación.",
        "El vostre compte no té el dret {} necessari per a aquesta operació.",
        "Uw account mist het recht {} dat nodig is voor deze bewerking."],
    CORS_FORBIDDEN => [
        "This API does not allow requests from {} with method {} (CORS). If this page is the API's own site behind a proxy (HTTPS in front of Spin), set public_base_url to the address in the browser; otherwise add the origin to scim_cors_origin.",
        "Esta API no permite solicitudes desde {} con el método {} (CORS). Si esta página es el propio sitio de la API detrás de un proxy (HTTPS delante de Spin), ponga en public_base_url la dirección del navegador; si no, añada el origen a scim_cors_origin.",
        "Aquesta API no permet sol·licituds des de {} amb el mètode {} (CORS). Si aquesta pàgina és el lloc de la mateixa API darrere d'un proxy (HTTPS davant de Spin), poseu a public_base_url l'adreça del navegador; si no, afegiu l'origen a scim_cors_origin.",
        "Deze API staat geen verzoeken toe vanaf {} met methode {} (CORS). Is deze pagina de eigen site van de API achter een proxy (HTTPS vóór Spin), zet dan public_base_url op het adres in de browser; voeg anders de oorsprong toe aan scim_cors_origin."],
    UNKNOWN_ORIGIN => [
        "an origin that is not scheme://host[:port]",
        "un origen que no es esquema://host[:puerto]",
        "un origen que no és esquema://host[:port]",
        "een oorsprong die geen schema://host[:poort] is"],
    NO_ROUTE => [
        "There is no endpoint {}.",
        "No existe el recurso {}.",
        "No existeix el recurs {}.",
        "Het eindpunt {} bestaat niet."],
    NO_DEVICE => [
        "OtpDevice {} does not exist.",
        "El OtpDevice {} no existe.",
        "L'OtpDevice {} no existeix.",
        "OtpDevice {} bestaat niet."],
    NO_OATH_DEVICE => [
        "Device {} does not exist.",
        "El Device {} no existe.",
        "El Device {} no existeix.",
        "Device {} bestaat niet."],
    NO_USER => [
        "User {} does not exist.",
        "El User {} no existe.",
        "L'User {} no existeix.",
        "User {} bestaat niet."],
    NO_POLICY => [
        "AuthenticatorPolicy {} does not exist.",
        "La AuthenticatorPolicy {} no existe.",
        "L'AuthenticatorPolicy {} no existeix.",
        "AuthenticatorPolicy {} bestaat niet."],
    NO_AUDIT_EVENT => [
        "Audit event {} does not exist.",
        "El evento de auditoría {} no existe.",
        "L'esdeveniment d'auditoria {} no existeix.",
        "Auditgebeurtenis {} bestaat niet."],
    NO_AUTHENTICATOR => [
        "Authenticator {} does not exist.",
        "El Authenticator {} no existe.",
        "L'Authenticator {} no existeix.",
        "Authenticator {} bestaat niet."],
    AUTHENTICATOR_TAKEN => [
        "The user already has an authenticator for this policy: {}.",
        "El usuario ya tiene un autenticador para esta política: {}.",
        "L'usuari ja té un autenticador per a aquesta política: {}.",
        "De gebruiker heeft al een authenticator voor dit beleid: {}."],
    POLICY_TAKEN => [
        "This tenant already has a policy with code {}.",
        "Este tenant ya tiene una política con el código {}.",
        "Aquest tenant ja té una política amb el codi {}.",
        "Deze tenant heeft al een beleid met code {}."],
    DEFAULT_POLICY => [
        "Policy {} is the default of its kind: make another policy of the same kind the default first.",
        "La política {} es la predeterminada de su tipo: haga antes predeterminada otra política del mismo tipo.",
        "La política {} és la predeterminada del seu tipus: feu abans predeterminada una altra política del mateix tipus.",
        "Beleid {} is de standaard voor zijn soort: maak eerst een ander beleid van dezelfde soort de standaard."],
    POLICY_IN_USE => [
        "Policy {} is in use by {} authenticators: delete them, or their users, first.",
        "La política {} la usan {} autenticadores: elimínelos, o a sus usuarios, antes.",
        "La política {} la fan servir {} autenticadors: elimineu-los, o els seus usuaris, abans.",
        "Beleid {} wordt gebruikt door {} authenticators: verwijder die, of hun gebruikers, eerst."],
    NOT_FOUND => [
        "Not found.",
        "No encontrado.",
        "No s'ha trobat.",
        "Niet gevonden."],
    USER_NAME_TAKEN => [
        "Another user of this tenant has this userName, compared case-insensitively (User {}).",
        "Otro usuario de este tenant tiene este userName, sin distinguir mayúsculas (User {}).",
        "Un altre usuari d'aquest tenant té aquest userName, sense distingir majúscules (User {}).",
        "Een andere gebruiker van deze tenant heeft deze userName, ongeacht hoofdletters (User {})."],
    NO_SCHEMA => [
        "Unknown {} \"{}\".",
        "{} desconocido: \"{}\".",
        "{} desconegut: \"{}\".",
        "Onbekend {}: \"{}\"."],
    METHOD => [
        "Method {} is not allowed on this endpoint; use {}.",
        "El método {} no está permitido en este recurso; use {}.",
        "El mètode {} no està permès en aquest recurs; feu servir {}.",
        "Methode {} is niet toegestaan op dit eindpunt; gebruik {}."],
    STALE => [
        "The device was changed by someone else since version {}; reload it and try again.",
        "Otra persona modificó el dispositivo desde la versión {}; vuelva a cargarlo e inténtelo de nuevo.",
        "Una altra persona ha modificat el dispositiu des de la versió {}; torneu-lo a carregar i torneu-ho a provar.",
        "Het apparaat is sinds versie {} door iemand anders gewijzigd; laad het opnieuw en probeer het nog eens."],
    TOO_LARGE => [
        "The request body is larger than {} bytes.",
        "El cuerpo de la solicitud supera los {} bytes.",
        "El cos de la sol·licitud supera els {} bytes.",
        "De body van het verzoek is groter dan {} bytes."],
    MEDIA_TYPE => [
        "Send the body as application/scim+json or application/json.",
        "Envíe el cuerpo como application/scim+json o application/json.",
        "Envieu el cos com a application/scim+json o application/json.",
        "Stuur de body als application/scim+json of application/json."],
    NOT_JSON => [
        "The body is not valid JSON: {}.",
        "El cuerpo no es JSON válido: {}.",
        "El cos no és JSON vàlid: {}.",
        "De body is geen geldige JSON: {}."],
    GATEWAY => [
        "The delivery gateway did not accept the code; nothing is pending, request a new challenge.",
        "La pasarela de envío no aceptó el código; no queda nada pendiente, solicite un nuevo desafío.",
        "La passarel·la d'enviament no ha acceptat el codi; no queda res pendent, sol·liciteu un nou repte.",
        "De verzendgateway heeft de code niet aangenomen; er staat niets open, vraag een nieuwe challenge aan."],
    MISCONFIGURED => [
        "The server is misconfigured: {}.",
        "El servidor está mal configurado: {}.",
        "El servidor està mal configurat: {}.",
        "De server is verkeerd geconfigureerd: {}."],
    INTERNAL => [
        "Internal server error; the operation was not completed.",
        "Error interno del servidor; la operación no se completó.",
        "Error intern del servidor; l'operació no s'ha completat.",
        "Interne serverfout; de bewerking is niet voltooid."],
    UNAVAILABLE => [
        "The database is unavailable for the moment; nothing was changed. Try again in {} s.",
        "La base de datos no está disponible en este momento; no se ha cambiado nada. Inténtelo de nuevo en {} s.",
        "La base de dades no està disponible en aquest moment; no s'ha canviat res. Torneu-ho a provar d'aquí a {} s.",
        "De database is op dit moment niet beschikbaar; er is niets gewijzigd. Probeer het over {} s opnieuw."],
    CONFLICT => [
        "The device changed while this request ran; try again.",
        "El dispositivo cambió mientras se procesaba la solicitud; inténtelo de nuevo.",
        "El dispositiu ha canviat mentre es processava la sol·licitud; torneu-ho a provar.",
        "Het apparaat is gewijzigd tijdens dit verzoek; probeer het opnieuw."],
    DUPLICATE => [
        "The user already has this authenticator (OtpDevice {}).",
        "El usuario ya tiene este autenticador (OtpDevice {}).",
        "L'usuari ja té aquest autenticador (OtpDevice {}).",
        "De gebruiker heeft deze authenticator al (OtpDevice {})."],
    ENROLLED => [
        "Device {} was enrolled by {}, not imported: delete it as OtpDevice {} or with its authenticator.",
        "El Device {} lo inscribió {}, no se importó: bórrelo como OtpDevice {} o con su autenticador.",
        "El Device {} el va inscriure {}, no es va importar: esborreu-lo com a OtpDevice {} o amb el seu autenticador.",
        "Device {} is door {} ingeschreven, niet geïmporteerd: verwijder het als OtpDevice {} of met zijn authenticator."],
    EXPORT_OFF => [
        "Seed export is off: set the seed_export variable to true to export secrets.",
        "La exportación de semillas está desactivada: ponga la variable seed_export a true para exportar secretos.",
        "L'exportació de llavors està desactivada: poseu la variable seed_export a true per exportar secrets.",
        "Seed-export staat uit: zet de variabele seed_export op true om geheimen te exporteren."],
    SEED_FILE => [
        "The seed file cannot be read, and nothing was imported: {}.",
        "El fichero de semillas no se puede leer y no se importó nada: {}.",
        "El fitxer de llavors no es pot llegir i no s'ha importat res: {}.",
        "Het seedbestand is onleesbaar en er is niets geïmporteerd: {}."],
    HANDED_OUT => [
        "Device {} is handed out to {}: take it back first.",
        "El Device {} está entregado a {}: recupérelo primero.",
        "El Device {} està lliurat a {}: recupereu-lo primer.",
        "Device {} is uitgegeven aan {}: neem het eerst terug."],
    FILTER => [
        "Invalid filter at position {}: {}.",
        "Filtro no válido en la posición {}: {}.",
        "Filtre no vàlid a la posició {}: {}.",
        "Ongeldig filter op positie {}: {}."],
    FILTER_SYNTAX => [
        "expected {}, found {}",
        "se esperaba {}, se encontró {}",
        "s'esperava {}, s'ha trobat {}",
        "verwacht {}, gevonden {}"],
    FILTER_UNKNOWN => [
        "unknown attribute \"{}\"",
        "atributo desconocido \"{}\"",
        "atribut desconegut \"{}\"",
        "onbekend attribuut \"{}\""],
    FILTER_NOT_FILTERABLE => [
        "attribute \"{}\" cannot be filtered",
        "no se puede filtrar por el atributo \"{}\"",
        "no es pot filtrar per l'atribut \"{}\"",
        "op attribuut \"{}\" kan niet gefilterd worden"],
    FILTER_OPERATOR => [
        "operator \"{}\" does not apply to attribute \"{}\"",
        "el operador \"{}\" no se aplica al atributo \"{}\"",
        "l'operador \"{}\" no s'aplica a l'atribut \"{}\"",
        "operator \"{}\" is niet van toepassing op attribuut \"{}\""],
    FILTER_VALUE => [
        "attribute \"{}\" needs {}",
        "el atributo \"{}\" necesita {}",
        "l'atribut \"{}\" necessita {}",
        "attribuut \"{}\" vereist {}"],
    FILTER_TOO_LONG => [
        "the filter is longer than {} characters",
        "el filtro tiene más de {} caracteres",
        "el filtre té més de {} caràcters",
        "het filter is langer dan {} tekens"],
    FILTER_TOO_COMPLEX => [
        "the filter is too complex (more than {} nested groups or comparisons)",
        "el filtro es demasiado complejo (más de {} grupos anidados o comparaciones)",
        "el filtre és massa complex (més de {} grups niats o comparacions)",
        "het filter is te complex (meer dan {} geneste groepen of vergelijkingen)"],
    MALFORMED => [
        "Malformed request: {}.",
        "Solicitud mal formada: {}.",
        "Sol·licitud mal formada: {}.",
        "Ongeldig verzoek: {}."],
    UNKNOWN_ATTRIBUTE => [
        "Unknown attribute \"{}\".",
        "Atributo desconocido \"{}\".",
        "Atribut desconegut \"{}\".",
        "Onbekend attribuut \"{}\"."],
    REQUIRED => [
        "Attribute \"{}\" is required.",
        "El atributo \"{}\" es obligatorio.",
        "L'atribut \"{}\" és obligatori.",
        "Attribuut \"{}\" is verplicht."],
    NOT_FOR_TYPE => [
        "Attribute \"{}\" does not apply to {} devices.",
        "El atributo \"{}\" no se aplica a dispositivos {}.",
        "L'atribut \"{}\" no s'aplica a dispositius {}.",
        "Attribuut \"{}\" is niet van toepassing op {}-apparaten."],
    INVALID_VALUE => [
        "Invalid value for \"{}\": {}.",
        "Valor no válido para \"{}\": {}.",
        "Valor no vàlid per a \"{}\": {}.",
        "Ongeldige waarde voor \"{}\": {}."],
    MUTABILITY => [
        "Attribute \"{}\" cannot be changed.",
        "El atributo \"{}\" no se puede modificar.",
        "L'atribut \"{}\" no es pot modificar.",
        "Attribuut \"{}\" kan niet gewijzigd worden."],
    INVALID_PATH => [
        "Invalid path \"{}\".",
        "Ruta no válida \"{}\".",
        "Camí no vàlid \"{}\".",
        "Ongeldig pad \"{}\"."],
    NO_TARGET => [
        "A remove operation needs a path.",
        "Una operación remove necesita una ruta.",
        "Una operació remove necessita un camí.",
        "Een remove-bewerking heeft een pad nodig."],
    INVALID_PARAMETER => [
        "Invalid {}: {}.",
        "{} no válido: {}.",
        "{} no vàlid: {}.",
        "Ongeldige {}: {}."],
    PIN_REQUIRED => [
        "The body must be {\"pin\": \"<code>\"} with a non-empty string.",
        "El cuerpo debe ser {\"pin\": \"<código>\"} con una cadena no vacía.",
        "El cos ha de ser {\"pin\": \"<codi>\"} amb una cadena no buida.",
        "De body moet {\"pin\": \"<code>\"} zijn met een niet-lege tekst."],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_fill_their_arguments_in_order() {
        assert_eq!(FILTER.render(Lang::Es, &["3", "x"]), "Filtro no válido en la posición 3: x.");
        assert_eq!(NO_SCHEMA.render(Lang::En, &["schema", "urn:x"]), "Unknown schema \"urn:x\".");
    }
}
