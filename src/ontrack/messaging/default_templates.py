# ruff: noqa: E501  (each notice is one line, as it is read and translated)
"""The notices ontrack ships, in English, Spanish, Portuguese, Haitian Creole and French.

Other apps rely on these keys and variables (brief: messaging contract). Every body may also
use ``{name}`` (given name), ``{office}``, ``{office_phone}`` and ``{office_address}``,
which messaging fills in itself. Dates arrive as aware datetimes and are written on the
participant's clock and in their language (``datefmt``), so "{when}" reads "el martes 10 de
marzo a las 9:00" in Spanish and "madi 10 mas a 9:00" in Creole. The words a participant is
told to reply (SÍ, WI, CHANJE, ÈD, SISPANN, IDIOMA ES...) are the ones ``keywords`` understands.

Installed by a data migration and kept editable in the console: the migration only adds
what is missing, so an office's edits survive upgrades.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DefaultTemplate:
    purpose: str
    bodies: dict[str, str]
    essential: bool = False
    bulk: bool = False


TEMPLATES: dict[str, DefaultTemplate] = {
    "portal_sign_in": DefaultTemplate(
        "Sign-in code and link for the participant portal, sent when the person asks for it",
        {
            "en": "ontrack: your sign-in code is {code}. It expires in 10 minutes; do not share it. Or open: {link}",
            "es": "ontrack: su código para entrar es {code}. Vence en 10 minutos; no lo comparta. O abra: {link}",
            "pt": "ontrack: seu código de acesso é {code}. Vale por 10 minutos; não o compartilhe. Ou abra: {link}",
            "ht": "ontrack: kòd ou pou antre se {code}. Li bon pou 10 minit; pa bay pèsonn li. Oswa louvri: {link}",
            "fr": "ontrack : votre code de connexion est {code}. Il expire dans 10 minutes ; ne le communiquez à personne. Ou ouvrez : {link}",
        },
        essential=True,
    ),
    "appointment_booked": DefaultTemplate(
        "Tells the person an office appointment was booked, with its stated purpose",
        {
            "en": "Hello {name}, you have an appointment on {when}. Place: {place}. Purpose: {purpose}. Reply YES to confirm or CHANGE to ask for another time.",
            "es": "Hola {name}, tiene una cita el {when}. Lugar: {place}. Motivo: {purpose}. Responda SÍ para confirmar o CAMBIAR para pedir otra hora.",
            "pt": "Olá {name}, você tem um atendimento marcado para {when}. Local: {place}. Motivo: {purpose}. Responda SIM para confirmar ou REMARCAR para pedir outro horário.",
            "ht": "Bonjou {name}, ou gen yon randevou {when}. Kote: {place}. Rezon: {purpose}. Reponn WI pou konfime oswa CHANJE pou mande yon lòt lè.",
            "fr": "Bonjour {name}, vous avez un rendez-vous le {when}. Lieu : {place}. Motif : {purpose}. Répondez OUI pour confirmer ou CHANGER pour demander un autre horaire.",
        },
    ),
    "appointment_moved": DefaultTemplate(
        "Tells the person their appointment moved to a new time",
        {
            "en": "Hello {name}, your appointment has been moved to {when}. Place: {place}. Purpose: {purpose}. Reply YES to confirm.",
            "es": "Hola {name}, su cita se cambió al {when}. Lugar: {place}. Motivo: {purpose}. Responda SÍ para confirmar.",
            "pt": "Olá {name}, seu atendimento foi remarcado para {when}. Local: {place}. Motivo: {purpose}. Responda SIM para confirmar.",
            "ht": "Bonjou {name}, yo chanje randevou ou a pou {when}. Kote: {place}. Rezon: {purpose}. Reponn WI pou konfime.",
            "fr": "Bonjour {name}, votre rendez-vous est déplacé au {when}. Lieu : {place}. Motif : {purpose}. Répondez OUI pour confirmer.",
        },
    ),
    "reschedule_declined": DefaultTemplate(
        "Tells the person their request to move an appointment was not accepted, so they still come at the booked time",
        {
            "en": "{name}, your request to change your appointment of {when} was not accepted. It stays as scheduled. Questions: {office_phone}.",
            "es": "{name}, su pedido de cambiar la cita del {when} no fue aceptado. La cita sigue como estaba. Preguntas: {office_phone}.",
            "pt": "{name}, seu pedido para mudar o atendimento de {when} não foi aceito. Ele continua como marcado. Dúvidas: {office_phone}.",
            "ht": "{name}, yo pa aksepte demann ou pou chanje randevou {when} an. Li rete jan li te ye a. Kesyon: {office_phone}.",
            "fr": "{name}, votre demande de changer le rendez-vous du {when} n'a pas été acceptée. Il reste prévu comme avant. Questions : {office_phone}.",
        },
        essential=True,
    ),
    "appointment_cancelled": DefaultTemplate(
        "Tells the person an appointment was cancelled so they do not travel for nothing",
        {
            "en": "Hello {name}, your appointment on {when} ({purpose}) has been cancelled. You do not need to come in. Your officer will contact you if a new appointment is needed.",
            "es": "Hola {name}, su cita del {when} ({purpose}) fue cancelada. No necesita presentarse. Su oficial le avisará si hace falta una nueva cita.",
            "pt": "Olá {name}, seu atendimento de {when} ({purpose}) foi cancelado. Você não precisa comparecer. Seu agente avisará se for preciso marcar outro.",
            "ht": "Bonjou {name}, yo anile randevou {when} an ({purpose}). Ou pa bezwen vini. Ofisye ou a ap fè ou konnen si ou bezwen yon lòt randevou.",
            "fr": "Bonjour {name}, votre rendez-vous du {when} ({purpose}) est annulé. Vous n'avez pas à vous présenter. Votre agent vous préviendra si un nouveau rendez-vous est nécessaire.",
        },
    ),
    "appointment_reminder": DefaultTemplate(
        "Reminds the person of an upcoming appointment",
        {
            "en": "Reminder: {name}, you have an appointment on {when}. Place: {place}. Purpose: {purpose}. Reply YES to confirm or CHANGE if you cannot come.",
            "es": "Recordatorio: {name}, tiene una cita el {when}. Lugar: {place}. Motivo: {purpose}. Responda SÍ para confirmar o CAMBIAR si no puede venir.",
            "pt": "Lembrete: {name}, você tem um atendimento marcado para {when}. Local: {place}. Motivo: {purpose}. Responda SIM para confirmar ou REMARCAR se não puder vir.",
            "ht": "Rapèl: {name}, ou gen yon randevou {when}. Kote: {place}. Rezon: {purpose}. Reponn WI pou konfime oswa CHANJE si ou pa ka vini.",
            "fr": "Rappel : {name}, vous avez un rendez-vous le {when}. Lieu : {place}. Motif : {purpose}. Répondez OUI pour confirmer ou CHANGER si vous ne pouvez pas venir.",
        },
    ),
    "checkin_window_open": DefaultTemplate(
        "Tells the person a check-in window has opened",
        {
            "en": "{name}, your check-in is open until {until}. Check in here: {link}",
            "es": "{name}, su registro está abierto hasta el {until}. Regístrese aquí: {link}",
            "pt": "{name}, seu registro está aberto até {until}. Faça o registro aqui: {link}",
            "ht": "{name}, konfimasyon prezans ou louvri jiska {until}. Fè l la a: {link}",
            "fr": "{name}, votre pointage est ouvert jusqu'au {until}. Pointez ici : {link}",
        },
    ),
    "checkin_reminder": DefaultTemplate(
        "Reminds the person to check in before the window closes",
        {
            "en": "Reminder: {name}, you have not checked in yet. You can check in until {until}: {link}",
            "es": "Recordatorio: {name}, aún no se ha registrado. Puede hacerlo hasta el {until}: {link}",
            "pt": "Lembrete: {name}, você ainda não fez seu registro. Você pode fazê-lo até {until}: {link}",
            "ht": "Rapèl: {name}, ou poko voye konfimasyon prezans ou. Ou gen jiska {until} pou fè l: {link}",
            "fr": "Rappel : {name}, vous n'avez pas encore pointé. Vous pouvez le faire jusqu'au {until} : {link}",
        },
    ),
    "hearing_reminder": DefaultTemplate(
        "Reminds the person of a court hearing (missing one has grave consequences)",
        {
            "en": "Court reminder: {name}, you have a hearing on {when} at {place}. If you miss it, the judge can decide against you. Bring your papers. Reply HELP for your office's contact.",
            "es": "Recordatorio de corte: {name}, tiene una audiencia el {when} en {place}. Si no se presenta, el juez puede decidir en su contra. Lleve sus documentos. Responda AYUDA para el contacto de su oficina.",
            "pt": "Lembrete do tribunal: {name}, você tem uma audiência marcada para {when} em {place}. Se faltar, o juiz pode decidir contra você. Leve seus documentos. Responda AJUDA para o contato do seu escritório.",
            "ht": "Rapèl tribinal: {name}, ou gen yon odyans {when} nan {place}. Si ou pa prezante, jij la ka deside kont ou. Pote papye ou yo. Reponn ÈD pou kontak biwo ou.",
            "fr": "Rappel d'audience : {name}, vous avez une audience le {when} à {place}. Si vous ne vous présentez pas, le juge peut décider contre vous. Apportez vos documents. Répondez AIDE pour les coordonnées de votre bureau.",
        },
        essential=True,
    ),
    "checkin_received": DefaultTemplate(
        "Receipt for a check-in, with its reference number",
        {
            "en": "Check-in received. Your reference number is {reference}. Thank you.",
            "es": "Registro recibido. Su número de referencia es {reference}. Gracias.",
            "pt": "Registro recebido. Seu número de referência é {reference}. Obrigado.",
            "ht": "Nou resevwa konfimasyon prezans ou. Nimewo referans ou se {reference}. Mèsi.",
            "fr": "Pointage reçu. Votre numéro de référence est {reference}. Merci.",
        },
    ),
    "review_outcome": DefaultTemplate(
        "Tells the person the decision on their request for a review of their supervision",
        {
            "en": "{name}, a decision was made on your request for a review of your supervision: {outcome}. Your officer can explain it.",
            "es": "{name}, se tomó una decisión sobre su solicitud de revisión de su supervisión: {outcome}. Su oficial se la puede explicar.",
            "pt": "{name}, foi tomada uma decisão sobre seu pedido de revisão da supervisão: {outcome}. Seu agente pode explicá-la.",
            "ht": "{name}, yo pran yon desizyon sou demann ou te fè pou yo revize sipèvizyon ou: {outcome}. Ofisye ou a ka eksplike ou li.",
            "fr": "{name}, une décision a été prise sur votre demande de révision de votre suivi : {outcome}. Votre agent peut vous l'expliquer.",
        },
        essential=True,
    ),
    "supervision_review_outcome": DefaultTemplate(
        "Tells the person the outcome of a scheduled review of their supervision",
        {
            "en": "{name}, your supervision was reviewed: {outcome}. Your officer can explain it.",
            "es": "{name}, se revisó su supervisión: {outcome}. Su oficial se lo puede explicar.",
            "pt": "{name}, sua supervisão foi revisada: {outcome}. Seu agente pode explicar.",
            "ht": "{name}, yo revize sipèvizyon ou: {outcome}. Ofisye ou a ka eksplike ou li.",
            "fr": "{name}, votre suivi a été révisé : {outcome}. Votre agent peut vous l'expliquer.",
        },
        essential=True,
    ),
    "help_reply": DefaultTemplate(
        "Answer to HELP: how to reach the office, and how to stop or restart texts",
        {
            "en": "{office}: call {office_phone} or visit {office_address}. Reply STOP to stop reminders, START to receive them again.",
            "es": "{office}: llame al {office_phone} o visítenos en {office_address}. Responda PARAR para dejar de recibir recordatorios y COMENZAR para volver a recibirlos.",
            "pt": "{office}: ligue para {office_phone} ou venha a {office_address}. Responda PARAR para deixar de receber lembretes e VOLTAR para recebê-los de novo.",
            "ht": "{office}: rele {office_phone} oswa vini nan {office_address}. Reponn SISPANN pou pa resevwa rapèl ankò, KÒMANSE pou resevwa yo ankò.",
            "fr": "{office} : appelez le {office_phone} ou venez au {office_address}. Répondez ARRÊT pour ne plus recevoir de rappels, DÉMARRER pour les recevoir à nouveau.",
        },
        essential=True,
    ),
    "stop_confirmed": DefaultTemplate(
        "The one confirmation allowed after STOP",
        {
            "en": "You will no longer receive reminders by text. Court and legal notices will still reach you another way. Reply START to receive texts again.",
            "es": "Ya no recibirá recordatorios por mensaje de texto. Los avisos legales y de corte le llegarán por otra vía. Responda COMENZAR para volver a recibirlos.",
            "pt": "Você não receberá mais lembretes por SMS. Avisos legais e do tribunal chegarão por outro meio. Responda VOLTAR para recebê-los de novo.",
            "ht": "Ou p ap resevwa rapèl pa tèks ankò. Avi legal ak avi tribinal ap toujou rive jwenn ou yon lòt jan. Reponn KÒMANSE pou resevwa tèks ankò.",
            "fr": "Vous ne recevrez plus de rappels par SMS. Les avis juridiques et d'audience vous parviendront par un autre moyen. Répondez DÉMARRER pour recevoir à nouveau les SMS.",
        },
        essential=True,
    ),
    "start_confirmed": DefaultTemplate(
        "Confirms START: texts resume",
        {
            "en": "You will receive reminders by text again. Reply STOP to stop, HELP for help.",
            "es": "Volverá a recibir recordatorios por mensaje de texto. Responda PARAR para dejar de recibirlos o AYUDA para obtener ayuda.",
            "pt": "Você voltará a receber lembretes por SMS. Responda PARAR para parar ou AJUDA para obter ajuda.",
            "ht": "Ou ap resevwa rapèl pa tèks ankò. Reponn SISPANN pou kanpe yo, ÈD pou jwenn èd.",
            "fr": "Vous recevrez à nouveau les rappels par SMS. Répondez ARRÊT pour les arrêter, AIDE pour obtenir de l'aide.",
        },
        essential=True,
    ),
    "reschedule_received": DefaultTemplate(
        "Acknowledges a request to change an appointment (the officer decides)",
        {
            "en": "We received your request to change your appointment. Your officer will contact you. Until then, your appointment stays as scheduled.",
            "es": "Recibimos su solicitud para cambiar su cita. Su oficial se comunicará con usted. Mientras tanto, su cita sigue como estaba.",
            "pt": "Recebemos seu pedido para mudar o atendimento. Seu agente entrará em contato. Até lá, o atendimento continua marcado.",
            "ht": "Nou resevwa demann ou pou chanje randevou ou. Ofisye ou a ap kontakte ou. Jiskaprezan, randevou a rete jan li te ye a.",
            "fr": "Nous avons reçu votre demande de changement de rendez-vous. Votre agent vous contactera. D'ici là, votre rendez-vous reste prévu.",
        },
        essential=True,
    ),
    "language_changed": DefaultTemplate(
        "Confirms, in the new language, a change of language the person asked for by text",
        {
            "en": "{name}, from now on you will receive our messages in English. To change the language, reply LANG and a language: EN, ES, PT, HT or FR.",
            "es": "{name}, a partir de ahora recibirá nuestros mensajes en español. Para cambiar el idioma, responda IDIOMA y un idioma: EN, ES, PT, HT o FR.",
            "pt": "{name}, a partir de agora você receberá nossas mensagens em português. Para mudar o idioma, responda IDIOMA e um idioma: EN, ES, PT, HT ou FR.",
            "ht": "{name}, depi kounye a w ap resevwa mesaj nou yo an kreyòl. Pou chanje lang, reponn LANG ak yon lang: EN, ES, PT, HT oswa FR.",
            "fr": "{name}, vous recevrez désormais nos messages en français. Pour changer de langue, répondez LANGUE et une langue : EN, ES, PT, HT ou FR.",
        },
    ),
    "confirm_received": DefaultTemplate(
        "Acknowledges a confirmation",
        {
            "en": "Thank you, your appointment is confirmed.",
            "es": "Gracias, su cita está confirmada.",
            "pt": "Obrigado, seu atendimento está confirmado.",
            "ht": "Mèsi, randevou ou konfime.",
            "fr": "Merci, votre rendez-vous est confirmé.",
        },
        essential=True,
    ),
    "counsel_copy": DefaultTemplate(
        "Copy of an appointment notice for counsel of record (with the person's consent)",
        {
            "en": "Copy for counsel of {client}: {notice}",
            "es": "Copia para el abogado de {client}: {notice}",
            "pt": "Cópia para o advogado de {client}: {notice}",
            "ht": "Kopi pou avoka {client}: {notice}",
            "fr": "Copie pour l'avocat de {client} : {notice}",
        },
        essential=True,
    ),
    "office_closure": DefaultTemplate(
        "Bulk: the office is closed on a day",
        {
            "en": "{name}, {office} will be closed on {date}. Appointments that day will be moved; we will send you the new time. Questions: {office_phone}.",
            "es": "{name}, la oficina {office} estará cerrada el {date}. Las citas de ese día se cambiarán; le enviaremos la nueva hora. Preguntas: {office_phone}.",
            "pt": "{name}, o escritório {office} estará fechado em {date}. Os atendimentos desse dia serão remarcados; enviaremos o novo horário. Dúvidas: {office_phone}.",
            "ht": "{name}, biwo {office} ap fèmen {date}. Y ap chanje randevou jou sa a; n ap voye nouvo lè a ba ou. Kesyon: {office_phone}.",
            "fr": "{name}, le bureau {office} sera fermé le {date}. Les rendez-vous de ce jour-là seront déplacés ; nous vous enverrons le nouvel horaire. Questions : {office_phone}.",
        },
        bulk=True,
    ),
    "contact_update": DefaultTemplate(
        "Bulk: asks people to keep their address and number up to date",
        {
            "en": "{name}, please make sure {office} has your current address and phone number. Reply with any change or call {office_phone}.",
            "es": "{name}, asegúrese de que {office} tenga su dirección y teléfono actuales. Responda con cualquier cambio o llame al {office_phone}.",
            "pt": "{name}, confirme se {office} tem seu endereço e telefone atuais. Responda com qualquer mudança ou ligue para {office_phone}.",
            "ht": "{name}, asire w ke {office} gen bon adrès ak bon nimewo telefòn ou. Reponn ak nenpòt chanjman oswa rele {office_phone}.",
            "fr": "{name}, assurez-vous que {office} a votre adresse et votre numéro de téléphone actuels. Répondez avec tout changement ou appelez le {office_phone}.",
        },
        bulk=True,
    ),
}

# Default reminder rules: (anchor kind, offset in minutes, local delivery time, template).
REMINDER_RULES: tuple[tuple[str, int, dt.time | None, str], ...] = (
    ("appointment", -3 * 1440, dt.time(9, 0), "appointment_reminder"),
    ("appointment", -1 * 1440, dt.time(9, 0), "appointment_reminder"),
    ("appointment", -120, None, "appointment_reminder"),
    ("hearing", -7 * 1440, dt.time(9, 0), "hearing_reminder"),
    ("hearing", -3 * 1440, dt.time(9, 0), "hearing_reminder"),
    ("hearing", -1 * 1440, dt.time(9, 0), "hearing_reminder"),
    ("checkin_window", -120, None, "checkin_reminder"),
)


def templates_add_missing(apps: Any, keys: Iterable[str]) -> int:
    """Add the default templates named by ``keys`` and whichever of their bodies are
    missing, through ``apps`` (a migration's historical models, or the running project's).
    Only what is missing is added, so an edited body is kept; every migration that ships a
    notice calls this, so upgrades and fresh databases end with the same rows. Returns how
    many rows were added."""
    Template = apps.get_model("messaging", "Template")
    TemplateBody = apps.get_model("messaging", "TemplateBody")
    added = 0
    for key in keys:
        default = TEMPLATES[key]
        template, created = Template.objects.get_or_create(
            key=key,
            defaults={
                "purpose": default.purpose,
                "essential": default.essential,
                "bulk": default.bulk,
            },
        )
        added += created
        for language, body in default.bodies.items():
            _, created = TemplateBody.objects.get_or_create(
                template=template, language=language, defaults={"body": body}
            )
            added += created
    return added


def reminder_rules_add_missing(apps: Any) -> int:
    """Add ``REMINDER_RULES`` to a database that has no reminder rule at all (a program that
    changed its rules keeps them). Returns how many rows were added."""
    ReminderRule = apps.get_model("messaging", "ReminderRule")
    if ReminderRule.objects.exists():
        return 0
    ReminderRule.objects.bulk_create(
        ReminderRule(kind=kind, offset_minutes=offset, local_time=at, template_key=key)
        for kind, offset, at, key in REMINDER_RULES
    )
    return len(REMINDER_RULES)
