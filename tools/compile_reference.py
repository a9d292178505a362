"""Compile newsetl's country, place, organisation and agent tables (`etl/reference_data/*.csv`).

Inputs, read by path and never copied into the repository (MIT, Open Event Data Alliance):
  * PETRARCH2's Phoenix.Countries.actors.txt: a block per country (`UKRAINE_` then `+ALIAS_` lines then
    `[UKR]`), whose aliases mix names, demonyms, misspellings and cities; then persons and institutions
    with role codes (`[ISRMIL]`) and date ranges;
  * Phoenix.International.actors.txt (IGOs and NGOs) and Phoenix.MilNonState.actors.txt (armed groups);
  * Phoenix.agents.txt: generic agents ("police", "troops", "foreign minister") under CAMEO sector codes;
  * CAMEO.2.0.txt's weapon synsets (`&WEAPON`, `&WMD`): what an unnamed attacker fights with; and its
    `&TOWN`, `&STRONGHOLD`, `&AIRCRAFT`, `&CAR` synsets: what force is used on.

The hand-written table below gives what the dictionaries lack or get wrong: display names, UN regions,
capitals and demonyms. CAMEO country codes are ISO 3166 alpha-3 except those in CAMEO_TO_ISO3; historical
states (USSR, Yugoslavia, East Germany, Czechoslovakia...) and the fictional Kinakuta are dropped.
A country block's aliases are sorted into kinds: the display name and official names ("name"), demonyms,
capitals, spellings close to the name or listed before the capital ("variant"); the block's other
aliases, listed after its capital, are cities and provinces and go to places.csv.
CAMEO's MED (media) becomes PLOVER's JRN and CAMEO's HLH (health) PLOVER's MED, as in the PLOVER gold data.
Output rows are sorted, so the files are byte-for-byte reproducible.

usage: .venv/bin/python tools/compile_reference.py [--shared ../shared] [--output etl/reference_data]
"""

from __future__ import annotations

import argparse
import csv
import difflib
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from etl.nlp.gazetteer import normalize  # noqa: E402

DEFAULT_SHARED = REPO.parent / "shared"
DEFAULT_OUTPUT = REPO / "etl" / "reference_data"
PETRARCH = Path("reference/petrarch2")
# The verb dictionary's noun synsets that name weapons ("+IMPROVISED_EXPLOSIVE_DEVICE"), and weapons news names
# that they lack. &WMD names nerve agents by name ("sarin", "mustard gas") but not the gases news says were used
# as weapons; "chlorine" and "toxic gas" alone are not among them: they leak from plants and pools as often.
WEAPON_SYNSETS = frozenset({"&WEAPON", "&WMD"})
EXTRA_WEAPONS = (
    "grenade|mortar|shell|landmine|explosive|explosive device|car bomb|suicide vest|drone|jet|warplane|gunship"
    "|mortar round|artillery round|munition|munitions|chlorine gas|poison gas|poisonous gas|nerve agent"
    "|chemical agent|minefield"
)
# The synsets of what force is used on, settlements, strongholds, aircraft and vehicles, and the buildings and
# positions news names as targets that they lack.
TARGET_SYNSETS = frozenset({"&TOWN", "&STRONGHOLD", "&AIRCRAFT", "&CAR"})
EXTRA_TARGETS = (
    "port|harbour|embassy|consulate|base|air base|convoy|patrol|checkpoint|post|police station|station|barracks"
    "|camp|position|school|hospital|clinic|church|mosque|temple|shrine|building|house|home|office|compound|facility"
    "|installation|bridge|airport|prison|jail|ship|vessel|boat|tanker|train|bus|pipeline|refinery|power station"
    "|district|neighbourhood|neighborhood|area|region|province|territory|border|frontier|capital|street|square"
    "|hotel|bank|shop|store|restaurant|cafe|university|college|museum|farm|road|highway|motorway|railway|mine|tower"
    "|dam|plant|factory|warehouse|depot|courthouse|parliament|palace|residence|ministry|polling station|tent|shelter"
    "|stadium"
)

# iso3|display name|UN region|capital spellings ("*" = not used as an alias: a common word or name)|demonyms
COUNTRY_TABLE = """
AFG|Afghanistan|Asia|Kabul|Afghan
ALB|Albania|Europe|Tirana|Albanian
DZA|Algeria|Africa|Algiers|Algerian
ASM|American Samoa|Oceania|Pago Pago|American Samoan
AND|Andorra|Europe|Andorra la Vella|Andorran
AGO|Angola|Africa|Luanda|Angolan
AIA|Anguilla|Americas|*The Valley|Anguillan
ATG|Antigua and Barbuda|Americas|St. John's|Antiguan
ARG|Argentina|Americas|Buenos Aires|Argentine/Argentinian
ARM|Armenia|Asia|Yerevan|Armenian
ABW|Aruba|Americas|Oranjestad|Aruban
AUS|Australia|Oceania|Canberra|Australian
AUT|Austria|Europe|Vienna|Austrian
AZE|Azerbaijan|Asia|Baku|Azerbaijani/Azeri
BHS|Bahamas|Americas|Nassau|Bahamian
BHR|Bahrain|Asia|Manama|Bahraini
BGD|Bangladesh|Asia|Dhaka|Bangladeshi
BRB|Barbados|Americas|Bridgetown|Barbadian
BLR|Belarus|Europe|Minsk|Belarusian
BEL|Belgium|Europe|Brussels|Belgian
BLZ|Belize|Americas|Belmopan|Belizean
BEN|Benin|Africa|Porto-Novo|Beninese
BMU|Bermuda|Americas|*Hamilton|Bermudian
BTN|Bhutan|Asia|Thimphu|Bhutanese
BOL|Bolivia|Americas|Sucre/La Paz|Bolivian
BIH|Bosnia and Herzegovina|Europe|Sarajevo|Bosnian
BWA|Botswana|Africa|Gaborone|Botswanan/Motswana/Batswana
BRA|Brazil|Americas|Brasilia|Brazilian
VGB|British Virgin Islands|Americas|Road Town|
BRN|Brunei|Asia|Bandar Seri Begawan|Bruneian
BGR|Bulgaria|Europe|Sofia|Bulgarian
BFA|Burkina Faso|Africa|Ouagadougou|Burkinabe
BDI|Burundi|Africa|Gitega|Burundian
KHM|Cambodia|Asia|Phnom Penh|Cambodian
CMR|Cameroon|Africa|Yaounde|Cameroonian
CAN|Canada|Americas|Ottawa|Canadian
CPV|Cape Verde|Africa|Praia|Cape Verdean
CYM|Cayman Islands|Americas|George Town|Caymanian
CAF|Central African Republic|Africa|Bangui|Central African
TCD|Chad|Africa|N'Djamena|Chadian
CHL|Chile|Americas|Santiago|Chilean
CHN|China|Asia|Beijing/Peking|Chinese
COL|Colombia|Americas|Bogota|Colombian
COM|Comoros|Africa|Moroni|Comoran/Comorian
COG|Congo|Africa|Brazzaville|
COK|Cook Islands|Oceania|Avarua|Cook Islander
CRI|Costa Rica|Americas|San Jose|Costa Rican
CIV|Côte d'Ivoire|Africa|Yamoussoukro|Ivorian/Ivoirian
HRV|Croatia|Europe|Zagreb|Croatian/Croat
CUB|Cuba|Americas|Havana|Cuban
CYP|Cyprus|Asia|Nicosia|Cypriot
CZE|Czech Republic|Europe|Prague|Czech
COD|Democratic Republic of the Congo|Africa|Kinshasa|Congolese
DNK|Denmark|Europe|Copenhagen|Danish/Dane
DJI|Djibouti|Africa|Djibouti|Djiboutian
DMA|Dominica|Americas|Roseau|
DOM|Dominican Republic|Americas|Santo Domingo|Dominican
ECU|Ecuador|Americas|Quito|Ecuadorian/Ecuadorean
EGY|Egypt|Africa|Cairo|Egyptian
SLV|El Salvador|Americas|San Salvador|Salvadoran/Salvadorean
GNQ|Equatorial Guinea|Africa|Malabo|Equatoguinean
ERI|Eritrea|Africa|Asmara|Eritrean
EST|Estonia|Europe|Tallinn|Estonian
SWZ|Eswatini|Africa|Mbabane|Swazi
ETH|Ethiopia|Africa|Addis Ababa|Ethiopian
FLK|Falkland Islands|Americas|*Stanley|Falkland Islander
FRO|Faroe Islands|Europe|Torshavn|Faroese
FJI|Fiji|Oceania|Suva|Fijian
FIN|Finland|Europe|Helsinki|Finnish/Finn
FRA|France|Europe|Paris|French/Frenchman/Frenchwoman
GUF|French Guiana|Americas|Cayenne|
PYF|French Polynesia|Oceania|Papeete|
GAB|Gabon|Africa|Libreville|Gabonese
GMB|Gambia|Africa|Banjul|Gambian
GEO|Georgia|Asia|Tbilisi|Georgian
DEU|Germany|Europe|Berlin|German
GHA|Ghana|Africa|Accra|Ghanaian
GIB|Gibraltar|Europe|Gibraltar|Gibraltarian
GRC|Greece|Europe|Athens|Greek
GRL|Greenland|Americas|Nuuk|Greenlandic/Greenlander
GRD|Grenada|Americas|St. George's|Grenadian
GLP|Guadeloupe|Americas|Basse-Terre|
GUM|Guam|Oceania|Hagatna|Guamanian
GTM|Guatemala|Americas|Guatemala City|Guatemalan
GGY|Guernsey|Europe|St. Peter Port|
GIN|Guinea|Africa|Conakry|Guinean
GNB|Guinea-Bissau|Africa|Bissau|Bissau-Guinean
GUY|Guyana|Americas|Georgetown|Guyanese
HTI|Haiti|Americas|Port-au-Prince|Haitian
HND|Honduras|Americas|Tegucigalpa|Honduran
HKG|Hong Kong|Asia||Hongkonger
HUN|Hungary|Europe|Budapest|Hungarian
ISL|Iceland|Europe|Reykjavik|Icelandic/Icelander
IND|India|Asia|New Delhi|Indian
IDN|Indonesia|Asia|Jakarta|Indonesian
IRN|Iran|Asia|Tehran/Teheran|Iranian
IRQ|Iraq|Asia|Baghdad|Iraqi
IRL|Ireland|Europe|Dublin|Irish/Irishman/Irishwoman
IMN|Isle of Man|Europe|*Douglas|Manx
ISR|Israel|Asia|Jerusalem|Israeli
ITA|Italy|Europe|Rome|Italian
JAM|Jamaica|Americas|Kingston|Jamaican
JPN|Japan|Asia|Tokyo|Japanese
JOR|Jordan|Asia|Amman|Jordanian
KAZ|Kazakhstan|Asia|Astana|Kazakh/Kazakhstani
KEN|Kenya|Africa|Nairobi|Kenyan
KIR|Kiribati|Oceania|Tarawa|
XKX|Kosovo|Europe|Pristina/Prishtina|Kosovar
KWT|Kuwait|Asia|Kuwait City|Kuwaiti
KGZ|Kyrgyzstan|Asia|Bishkek|Kyrgyz
LAO|Laos|Asia|Vientiane|Laotian
LVA|Latvia|Europe|Riga|Latvian
LBN|Lebanon|Asia|Beirut|Lebanese
LSO|Lesotho|Africa|Maseru|Basotho/Mosotho
LBR|Liberia|Africa|Monrovia|Liberian
LBY|Libya|Africa|Tripoli|Libyan
LIE|Liechtenstein|Europe|Vaduz|Liechtensteiner
LTU|Lithuania|Europe|Vilnius|Lithuanian
LUX|Luxembourg|Europe|Luxembourg|Luxembourgish/Luxembourger
MDG|Madagascar|Africa|Antananarivo|Malagasy
MWI|Malawi|Africa|Lilongwe|Malawian
MYS|Malaysia|Asia|Kuala Lumpur|Malaysian
MDV|Maldives|Asia|*Male|Maldivian
MLI|Mali|Africa|Bamako|Malian
MLT|Malta|Europe|Valletta|Maltese
MHL|Marshall Islands|Oceania|Majuro|Marshallese
MTQ|Martinique|Americas|Fort-de-France|
MRT|Mauritania|Africa|Nouakchott|Mauritanian
MUS|Mauritius|Africa|Port Louis|Mauritian
MEX|Mexico|Americas|Mexico City|Mexican
FSM|Micronesia|Oceania|Palikir|Micronesian
MDA|Moldova|Europe|Chisinau|Moldovan
MCO|Monaco|Europe|Monaco|Monegasque
MNG|Mongolia|Asia|Ulaanbaatar/Ulan Bator|Mongolian
MNE|Montenegro|Europe|Podgorica|Montenegrin
MSR|Montserrat|Americas|Brades|
MAR|Morocco|Africa|Rabat|Moroccan
MOZ|Mozambique|Africa|Maputo|Mozambican
MMR|Myanmar|Asia|Naypyidaw/Naypyitaw|Burmese
NAM|Namibia|Africa|Windhoek|Namibian
NRU|Nauru|Oceania|Yaren|Nauruan
NPL|Nepal|Asia|Kathmandu|Nepalese/Nepali
NLD|Netherlands|Europe|Amsterdam|Dutch/Dutchman/Dutchwoman
NCL|New Caledonia|Oceania|Noumea|New Caledonian
NZL|New Zealand|Oceania|Wellington|New Zealander
NIC|Nicaragua|Americas|Managua|Nicaraguan
NER|Niger|Africa|Niamey|Nigerien
NGA|Nigeria|Africa|Abuja|Nigerian
NIU|Niue|Oceania|Alofi|Niuean
PRK|North Korea|Asia|Pyongyang|North Korean
MKD|North Macedonia|Europe|Skopje|Macedonian
NOR|Norway|Europe|Oslo|Norwegian
OMN|Oman|Asia|Muscat|Omani
PAK|Pakistan|Asia|Islamabad|Pakistani
PLW|Palau|Oceania|Ngerulmud|Palauan
PSE|Palestine|Asia|Ramallah|Palestinian
PAN|Panama|Americas|Panama City|Panamanian
PNG|Papua New Guinea|Oceania|Port Moresby|Papua New Guinean
PRY|Paraguay|Americas|Asuncion|Paraguayan
PER|Peru|Americas|Lima|Peruvian
PHL|Philippines|Asia|Manila|Filipino/Philippine
PCN|Pitcairn Islands|Oceania|Adamstown|
POL|Poland|Europe|Warsaw|Polish
PRT|Portugal|Europe|Lisbon|Portuguese
PRI|Puerto Rico|Americas|San Juan|Puerto Rican
QAT|Qatar|Asia|Doha|Qatari
ROU|Romania|Europe|Bucharest|Romanian
RUS|Russia|Europe|Moscow|Russian
RWA|Rwanda|Africa|Kigali|Rwandan
SHN|Saint Helena|Africa|*Jamestown|
KNA|Saint Kitts and Nevis|Americas|Basseterre|Kittitian
LCA|Saint Lucia|Americas|Castries|Saint Lucian
VCT|Saint Vincent and the Grenadines|Americas|Kingstown|Vincentian
WSM|Samoa|Oceania|Apia|Samoan
SMR|San Marino|Europe|San Marino|Sammarinese
STP|Sao Tome and Principe|Africa|Sao Tome|Santomean
SAU|Saudi Arabia|Asia|Riyadh|Saudi
SEN|Senegal|Africa|Dakar|Senegalese
SRB|Serbia|Europe|Belgrade|Serbian/Serb
SYC|Seychelles|Africa|*Victoria|Seychellois
SLE|Sierra Leone|Africa|Freetown|Sierra Leonean
SGP|Singapore|Asia|Singapore|Singaporean
SVK|Slovakia|Europe|Bratislava|Slovak/Slovakian
SVN|Slovenia|Europe|Ljubljana|Slovenian/Slovene
SLB|Solomon Islands|Oceania|Honiara|Solomon Islander
SOM|Somalia|Africa|Mogadishu|Somali
ZAF|South Africa|Africa|Pretoria|South African
KOR|South Korea|Asia|Seoul|South Korean
SSD|South Sudan|Africa|Juba|South Sudanese
ESP|Spain|Europe|Madrid|Spanish/Spaniard
LKA|Sri Lanka|Asia|Colombo|Sri Lankan
SDN|Sudan|Africa|Khartoum|Sudanese
SUR|Suriname|Americas|Paramaribo|Surinamese
SWE|Sweden|Europe|Stockholm|Swedish/Swede
CHE|Switzerland|Europe|Bern/Berne|Swiss
SYR|Syria|Asia|Damascus|Syrian
TWN|Taiwan|Asia|Taipei|Taiwanese
TJK|Tajikistan|Asia|Dushanbe|Tajik/Tajikistani
TZA|Tanzania|Africa|Dodoma|Tanzanian
THA|Thailand|Asia|Bangkok|Thai
TLS|Timor-Leste|Asia|Dili|Timorese/East Timorese
TGO|Togo|Africa|Lome|Togolese
TKL|Tokelau|Oceania|Nukunonu|Tokelauan
TON|Tonga|Oceania|Nuku'alofa|Tongan
TTO|Trinidad and Tobago|Americas|Port of Spain|Trinidadian
TUN|Tunisia|Africa|Tunis|Tunisian
TUR|Turkey|Asia|Ankara|Turkish/Turk
TKM|Turkmenistan|Asia|Ashgabat|Turkmen
TUV|Tuvalu|Oceania|Funafuti|Tuvaluan
UGA|Uganda|Africa|Kampala|Ugandan
UKR|Ukraine|Europe|Kyiv/Kiev|Ukrainian
ARE|United Arab Emirates|Asia|Abu Dhabi|Emirati
GBR|United Kingdom|Europe|London|British/Briton/Englishman/Englishwoman/Scot/Scottish/Welsh/English
USA|United States|Americas|Washington|American
VIR|United States Virgin Islands|Americas|Charlotte Amalie|
URY|Uruguay|Americas|Montevideo|Uruguayan
UZB|Uzbekistan|Asia|Tashkent|Uzbek
VUT|Vanuatu|Oceania|Port Vila|Ni-Vanuatu
VAT|Vatican City|Europe|Vatican City|
VEN|Venezuela|Americas|Caracas|Venezuelan
VNM|Vietnam|Asia|Hanoi|Vietnamese
WLF|Wallis and Futuna|Oceania|Mata-Utu|
ESH|Western Sahara|Africa|Laayoune|Sahrawi/Saharawi
YEM|Yemen|Asia|Sanaa|Yemeni
ZMB|Zambia|Africa|Lusaka|Zambian
ZWE|Zimbabwe|Africa|Harare|Zimbabwean"""

CAMEO_TO_ISO3 = {"TMP": "TLS", "KSV": "XKX", "IMY": "IMN", "ROM": "ROU", "ZAR": "COD"}

# Ukrainian cities in the spellings news has used since 2022, missing from the 2014 dictionary.
EXTRA_PLACES = {
    "UKR": "Avdiivka Bakhmut Berdiansk Bucha Chernihiv Dnipro Enerhodar Irpin Izium Kakhovka Kherson "
    "Kramatorsk Kremenchuk Kropyvnytskyi Lviv Lysychansk Mariupol Melitopol Mykolaiv Nova_Kakhovka Odesa "
    "Poltava Severodonetsk Sievierodonetsk Sloviansk Sumy Vinnytsia Zaporizhzhia Zaporizhia Zaporozhye "
    "Zhytomyr Kharkiv Donetsk Luhansk Crimea Donbas Donbass",
}

# Role codes (CAMEO agent codes) that can follow a country code; anything else after it is a territory.
# Agents and organisations news names often that the dictionaries lack ("officials", "G20"); codes as in
# the dictionaries where they have one, else the bare CAMEO class.
EXTRA_AGENTS = {
    "GOV": "official|authorities|negotiator|emir|leader|government official|chief|delegation|country|nation|agency"
    "|side|party",
    "LAB": "union",
    "MIL": "forces|general|peacekeeper|armed forces|unit|gunner|reinforcement|reinforcements",
    "OPP": "opposition|opposition leader|group|confederation|association|coalition|alliance|organisation"
    "|organization|movement",
    "CRM": "attacker|assailant|thug|hacker",
    "CVL": "mob|crowd|prisoner|inmate|detainee|inhabitant|elder|officer|driver|musician|critic|donor",
    "PPL": "individual|individuals",
    "COP": "guard",
}
# Dictionary agents news mostly means otherwise: a "carrier" is an airline or a phone company (the weapons table
# holds aircraft and personnel carriers).
NOT_AGENTS = frozenset({"carrier", "carriers"})
EXTRA_ORGANIZATIONS = """
un|United Nations|IGOUNO
eu|European Union|IGOEUREEC
european community|European Community|IGOEUREEC
who|World Health Organization|IGOUNOHLHWHO
african union|African Union|IGOAFRAFU
au|African Union|IGOAFRAFU
osce|Organization for Security and Co-operation in Europe|IGO
g20|Group of Twenty|IGO
g7|Group of Seven|IGO
g8|Group of Eight|IGO
wto|World Trade Organization|IGO
world trade organization|World Trade Organization|IGO
"""
CANONICAL_BY_CODE = {"IGOUNO": "United Nations", "IGOEUREEC": "European Union"}

ROLE_CODES_TEXT = (
    "GOV MIL REB OPP COP JUD BUS MED CVL EDU HLH REF LEG SPY ELI PTY LAB AGR CRM UAF IGO NGO REL MUS "
    "CHR JEW HIN BUD ENV DEV HRI IMG MNC RAD INS UNR IRC PPL SEP MOD AMN"
)
ROLE_CODES = frozenset(ROLE_CODES_TEXT.split())
PLOVER_SECTOR = {"MED": "JRN", "HLH": "MED"}  # CAMEO code -> PLOVER code where they differ

# Words that make a name an organisation's, not a person's: English ones, and those of armed groups' own names
# ("Boko Haram", "Lashkar-e-Taiba", "Jaish-e-Mohammed", "Ansar Dine", "Aum Shinrikyo", "Ku Klux Klan"), which
# PETRARCH2 lists among armed groups but which carry no English organisation word (spaCy often types them PERSON).
ORGANIZATION_WORDS_TEXT = (
    "organization organisation union nations council fund bank agency commission court tribunal "
    "committee assembly parliament league alliance forum association federation institute program "
    "programme office mission secretariat group front army movement party brigade brigades forces "
    "force ministry department cross crescent international watch conference community treaty "
    "foundation society centre center network panel coalition authority service bureau police guard "
    "guards corps navy jihad hezbollah hizbollah hamas taliban qaeda haram lashkar jaish jamaat jamaatul "
    "jamatul hizb hizbul mujahideen mujahidin mujahedin ansar gamaa gamaat shinrikyo klan eelam fedayeen "
    "salvatruchas"
)
ORGANIZATION_WORDS = frozenset(ORGANIZATION_WORDS_TEXT.split())
SMALL_WORDS_TEXT = "a an and at de del des du for in of on the to"
SMALL_WORDS = frozenset(SMALL_WORDS_TEXT.split())
SHORT_COUNTRY_ALIASES = frozenset({"us", "uk"})  # the only two-letter aliases worth their ambiguity

MACROS = {
    "!PERSON!": ("man", "men", "woman", "women", "person"),
    "!MINIST!": ("minister", "ministers", "ministry", "ministries"),
}


@dataclass(frozen=True, slots=True)
class CountryRow:
    iso3: str
    name: str
    region: str
    capitals: tuple[str, ...]  # spellings used as aliases
    display_capital: str
    demonyms: tuple[str, ...]


@dataclass(slots=True)
class ActorEntry:
    """One TABARI dictionary entry: a head name, its `+` aliases, and its `[CODE dates]` codes."""

    names: list[str]
    codes: list[str] = field(default_factory=list)

    @property
    def current_code(self) -> str | None:
        """The code in force now: the last open-ended (`>date`) or undated one, else the last listed."""
        current = None
        for code in self.codes:
            parts = code.split()
            if parts and (len(parts) == 1 or parts[1].startswith(">")):
                current = parts[0]
        if current is None and self.codes and self.codes[-1].split():
            current = self.codes[-1].split()[0]
        return current if current and re.fullmatch(r"[A-Z~]+", current) else None


def country_rows() -> list[CountryRow]:
    rows = []
    for line in COUNTRY_TABLE.strip().splitlines():
        iso3, name, region, capital_field, demonym_field = line.split("|")
        capitals = [c for c in capital_field.split("/") if c]
        rows.append(
            CountryRow(
                iso3=iso3,
                name=name,
                region=region,
                capitals=tuple(c for c in capitals if not c.startswith("*")),
                display_capital=capitals[0].lstrip("*") if capitals else "",
                demonyms=tuple(d for d in demonym_field.split("/") if d),
            )
        )
    return rows


def read_actor_entries(path: Path) -> Iterator[ActorEntry]:
    """Entries of a TABARI .actors file, in file order; comments and blank lines skipped."""
    entry: ActorEntry | None = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        text = line.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        codes = re.findall(r"\[([^\]]*)\]", text)
        name = re.sub(r"\[[^\]]*\]", "", text).strip()
        if line[0] in " \t":
            if entry is not None:
                entry.codes.extend(codes)
        elif line[0] == "+":
            if entry is not None and name[1:].strip():
                entry.names.append(name[1:].strip())
        else:
            if entry is not None:
                yield entry
            entry = ActorEntry([name], codes)
    if entry is not None:
        yield entry


def alias_key(name: str) -> str | None:
    """Normalised alias of a dictionary name, or None for junk (parenthesised or comma-split forms)."""
    if any(mark in name for mark in "(),/+"):
        return None
    key = normalize(name)
    if key.startswith("the "):
        key = key[4:]
    if len(key.replace(" ", "")) < 3 and key not in SHORT_COUNTRY_ALIASES:
        return None
    return key or None


def split_code(code: str, countries: dict[str, CountryRow]) -> tuple[str | None, str]:
    """(ISO3, rest) of a Phoenix code: "ISRMIL" -> ("ISR", "MIL"), "USAPRI" -> ("PRI", "").

    Codes that start with no country ("IGOUNO") give (None, code).
    """
    head = CAMEO_TO_ISO3.get(code[:3], code[:3])
    if head not in countries:
        return None, code
    rest = code[3:]
    territory = CAMEO_TO_ISO3.get(rest[:3], rest[:3])
    if territory in countries:
        return territory, rest[3:]
    if rest[:3] and rest[:3] not in ROLE_CODES:
        return head, rest[3:]  # a region of the country with its own code, such as Gaza (PSEGZA)
    return head, rest


def sector_of_code(rest: str) -> str | None:
    sector = rest[:3]
    return PLOVER_SECTOR.get(sector, sector) if sector in ROLE_CODES else None


def similar(a: str, b: str, threshold: float) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= threshold


def demonym_forms(demonym: str) -> list[str]:
    """A demonym and its plural noun ("Ukrainian" -> "ukrainians"; "Swiss" stays as it is)."""
    key = normalize(demonym)
    if key.endswith("man"):
        return [key, key[:-3] + "men"]
    if key.endswith(("ese", "ish", "ss", "ch", "sh", "x")):
        return [key]
    return [key, key + "s"]


def classify_block(row: CountryRow, names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Sort a country block's aliases into kinds, and its cities and provinces into places."""
    name_key = normalize(row.name)
    capital_keys = {normalize(c) for c in row.capitals}
    demonym_keys = {form for d in row.demonyms for form in demonym_forms(d)}
    kinds: dict[str, str] = {name_key: "name"}
    kinds.update({key: "capital" for key in capital_keys})
    kinds.update({key: "demonym" for key in demonym_keys})
    places: list[str] = []
    seen_capital = False
    for name in names:
        key = alias_key(name)
        if key is None:
            continue
        if key in kinds:
            seen_capital = seen_capital or kinds[key] == "capital"
            continue
        if f" {name_key} " in f" {key} " or similar(key, name_key, 0.8):
            kinds[key] = "name" if f" {name_key} " in f" {key} " else "variant"
        elif any(similar(key, d, 0.8) for d in demonym_keys):
            kinds[key] = "demonym"
        elif not seen_capital or len(key) <= 3 or "." in name:
            kinds[key] = "variant"
        else:
            places.append(key)
    return kinds, places


def build_countries(shared: Path) -> tuple[list[CountryRow], dict[str, tuple[str, str]], dict[str, str]]:
    """Countries, their aliases (alias -> (iso3, kind)) and places (alias -> iso3)."""
    rows = country_rows()
    by_iso = {row.iso3: row for row in rows}
    blocks: dict[str, list[ActorEntry]] = defaultdict(list)
    for entry in read_actor_entries(shared / PETRARCH / "Phoenix.Countries.actors.txt"):
        code = entry.current_code
        if code is None:
            continue
        iso3, rest = split_code(code, by_iso)
        if iso3 is not None and not rest:
            blocks[iso3].append(entry)

    candidates: dict[str, dict[str, str]] = defaultdict(dict)  # alias -> {iso3: kind}
    place_candidates: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        entries = blocks.get(row.iso3, [])
        main = max(entries, key=lambda e: len(e.names), default=None)
        kinds, places = classify_block(row, main.names if main else [])
        for alias, kind in kinds.items():
            candidates[alias][row.iso3] = kind
        for entry in entries:
            if entry is not main:
                places.extend(key for key in map(alias_key, entry.names) if key)
        for place in places:
            place_candidates[place].add(row.iso3)
    for iso3, names in EXTRA_PLACES.items():
        for name in names.split():
            place_candidates[normalize(name)].add(iso3)

    hand_written = {
        normalize(value): row.iso3
        for row in rows
        for value in (row.name, *row.capitals, *(f for d in row.demonyms for f in demonym_forms(d)))
    }
    # Capitals marked "*" in the table are common words or names ("Male", "Victoria"): never aliases.
    not_aliases = {normalize(r.display_capital) for r in rows if r.display_capital not in r.capitals}
    aliases: dict[str, tuple[str, str]] = {}
    for alias, by_country in candidates.items():
        if alias in not_aliases:
            continue
        if alias in hand_written:
            iso3 = hand_written[alias]
        elif len(by_country) == 1:
            (iso3,) = by_country
        else:
            continue  # claimed by several countries and by none of the hand-written names
        aliases[alias] = (iso3, by_country.get(iso3, "name"))
    places = {
        alias: next(iter(isos))
        for alias, isos in place_candidates.items()
        if len(isos) == 1 and alias not in aliases and alias not in not_aliases and len(alias) >= 4
    }
    return rows, aliases, places


def display_name(raw: str, acronyms: set[str]) -> str:
    """A dictionary name as people write it: "UN_SECURITY_COUNCIL_" -> "UN Security Council"."""
    words = []
    for index, word in enumerate(re.sub(r"^THE_", "", raw).replace("_", " ").split()):
        lower = word.lower()
        if "." in word or (lower in acronyms and len(lower) <= 6) or not re.search(r"[aeiouy]", lower):
            words.append(word.upper())
        elif index and lower in SMALL_WORDS:
            words.append(lower)
        else:
            words.append("-".join(part.capitalize() for part in lower.split("-")))
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    alias: str
    canonical_name: str
    code: str
    country: str
    sector: str


def is_acronym(key: str) -> bool:
    return " " not in key and len(key) <= 8


def is_organization_name(key: str) -> bool:
    return is_acronym(key) or bool(ORGANIZATION_WORDS & set(key.split()))


def organization_entries(shared: Path, countries: dict[str, CountryRow]) -> Iterator[tuple[ActorEntry, str]]:
    """(entry, code) of organisations: IGOs and NGOs, armed groups, and national institutions."""
    for entry in read_actor_entries(shared / PETRARCH / "Phoenix.International.actors.txt"):
        code = entry.current_code
        if code and code[:3] in {"IGO", "NGO"}:
            yield entry, code
    for entry in read_actor_entries(shared / PETRARCH / "Phoenix.MilNonState.actors.txt"):
        if entry.current_code:
            yield entry, entry.current_code
    for entry in read_actor_entries(shared / PETRARCH / "Phoenix.Countries.actors.txt"):
        code = entry.current_code
        if code is None:
            continue
        iso3, rest = split_code(code, countries)
        if iso3 is not None and rest[:3] in ROLE_CODES - {"ELI"}:
            yield entry, code


def build_organizations(shared: Path, countries: dict[str, CountryRow], taken: set[str]) -> list[OrganizationRow]:
    """Organisation aliases; persons (names without an organisation word) are left out."""
    entries = list(organization_entries(shared, countries))
    acronyms = {key for entry, _ in entries for key in map(alias_key, entry.names) if key and is_acronym(key)}
    rows: dict[str, OrganizationRow] = {}
    for line in EXTRA_ORGANIZATIONS.strip().splitlines():
        alias, canonical, code = line.split("|")
        rows[alias] = OrganizationRow(alias, canonical, code, "", "")
    for entry, code in entries:
        keyed = [(name, key) for name in entry.names if (key := alias_key(re.sub(r"\(.*?\)", "", name)))]
        keyed = [(name, key) for name, key in keyed if is_organization_name(key)]
        if not keyed:
            continue
        full_names = [name for name, key in keyed if not is_acronym(key)]
        canonical = display_name(re.sub(r"\(.*?\)", "", (full_names or [keyed[0][0]])[0]), acronyms)
        if not full_names:
            canonical = CANONICAL_BY_CODE.get(code, canonical)
        iso3, rest = split_code(code, countries)
        # International militant groups (IMG...) are coded as rebels wherever they fight.
        sector = "REB" if code[:3] == "IMG" else sector_of_code(rest) if iso3 else None
        for _, key in keyed:
            if key in taken or key in rows:
                continue
            rows[key] = OrganizationRow(key, canonical, code, iso3 or "", sector or "")
    return sorted(rows.values(), key=lambda row: row.alias)


def expand_agent_term(raw: str) -> list[str]:
    """Surface forms of an agents-file term: macros expanded, the `MINIST` stem completed."""
    forms = [raw]
    for macro, values in MACROS.items():
        forms = [f.replace(macro, value, 1) for f in forms for value in values] if macro in raw else forms
    completed = []
    for form in forms:
        if re.search(r"MINIST(?:_|\b|$)", form) and not re.search(r"MINIST(ER|RY|RIES)", form):
            completed += [re.sub(r"MINIST(?=_|\b|$)", w, form) for w in ("MINISTER", "MINISTRY")]
        else:
            completed.append(form)
    return completed


def build_agents(shared: Path) -> list[tuple[str, str, str]]:
    """(term, PLOVER sector, CAMEO code) for each generic agent, singular forms and listed plurals."""
    agents: dict[str, tuple[str, str]] = {}
    pattern = re.compile(r"^([^\[{]+?)\s*(?:\{([^}]*)\})?\s*\[([^\]]*)\]")
    for line in (shared / PETRARCH / "Phoenix.agents.txt").read_text(encoding="utf-8").splitlines():
        match = pattern.match(line.split("#", 1)[0].strip())
        if match is None or not line.isascii():
            continue
        raw_term, plurals, code = match.groups()
        code = code.replace("~", "").strip()
        if not re.fullmatch(r"[A-Z]{3,}", code):
            continue
        sector = PLOVER_SECTOR.get(code[:3], code[:3])
        terms = [*expand_agent_term(raw_term), *(plurals or "").split()]
        for term in filter(None, (normalize(t) for t in terms)):
            if len(term) >= 3 and term not in NOT_AGENTS:
                agents.setdefault(term, (sector, code))
    for sector, terms in EXTRA_AGENTS.items():
        for term in terms.split("|"):
            agents.setdefault(term, (sector, sector))
    return sorted((term, sector, code) for term, (sector, code) in agents.items())


def build_synset_terms(shared: Path, synsets: frozenset[str], extras: str) -> list[tuple[str]]:
    """The terms of some of the verb dictionary's synsets, normalised, with `extras` ("a|b"); a synset runs from
    its `&NAME` line to a line that is not a `+TERM`."""
    terms: set[str] = set()
    synset = None
    for line in (shared / PETRARCH / "CAMEO.2.0.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("&"):
            synset = line
        elif line.startswith("+") and synset in synsets:
            term = normalize(line[1:].replace("_", " "))
            if len(term) >= 3:
                terms.add(term)
        else:
            synset = None
    terms.update(extras.split("|"))
    return sorted((term,) for term in terms)


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[str]]) -> int:
    rows = list(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return len(rows)


def compile_reference(shared: Path, output: Path) -> dict[str, int]:
    """Write every table under `output`; return the row count of each file."""
    rows, aliases, places = build_countries(shared)
    by_iso = {row.iso3: row for row in rows}
    organizations = build_organizations(shared, by_iso, set(aliases))
    counts = {
        "countries.csv": write_csv(
            output / "countries.csv",
            ("iso3", "name", "region", "capital"),
            ((r.iso3, r.name, r.region, r.display_capital) for r in sorted(rows, key=lambda r: r.iso3)),
        ),
        "country_aliases.csv": write_csv(
            output / "country_aliases.csv",
            ("alias", "iso3", "kind"),
            ((alias, iso3, kind) for alias, (iso3, kind) in sorted(aliases.items())),
        ),
        "places.csv": write_csv(output / "places.csv", ("alias", "iso3"), sorted(places.items())),
        "organizations.csv": write_csv(
            output / "organizations.csv",
            ("alias", "canonical_name", "code", "country", "sector"),
            ((r.alias, r.canonical_name, r.code, r.country, r.sector) for r in organizations),
        ),
        "agents.csv": write_csv(output / "agents.csv", ("term", "sector", "cameo_code"), build_agents(shared)),
        "weapons.csv": write_csv(
            output / "weapons.csv", ("term",), build_synset_terms(shared, WEAPON_SYNSETS, EXTRA_WEAPONS)
        ),
        "targets.csv": write_csv(
            output / "targets.csv", ("term",), build_synset_terms(shared, TARGET_SYNSETS, EXTRA_TARGETS)
        ),
    }
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared/ folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder for the CSV tables")
    args = parser.parse_args()
    for name, count in compile_reference(args.shared, args.output).items():
        print(f"{name}: {count} rows")


if __name__ == "__main__":
    main()
