"""The demo portal's pages that are not news: about, contact, staff, advertising, policies.

Every Indonesian portal has them, linked from the footer and often the navigation: a title and
prose, no byline, no publication date. They are traps for a crawler of articles: two live at
long hyphenated slugs (the shape of an article URL), they are listed in a WordPress-style
`page-sitemap.xml` beside the post sitemaps, and the policy texts run well over 1,000 characters,
so "a headline plus a long body" alone takes them for articles. None may end up in `articles`.

The texts are written for the demo (paraphrased from what such pages generally say, not copied
from any portal or from the Dewan Pers guideline itself).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InfoPage:
    path: str
    title: str
    link_text: str  # what the footer (and the navigation, when `in_nav`) says
    paragraphs: tuple[str, ...]
    in_nav: bool = False


_ABOUT = (
    "Portal Demo adalah media daring yang menyajikan berita daerah dan nasional dengan fokus pada "
    "Provinsi Jambi dan sekitarnya. Kami hadir untuk memberikan informasi yang akurat, berimbang, "
    "dan dapat dipertanggungjawabkan kepada pembaca di mana pun berada.",
    "Didirikan oleh sekelompok jurnalis muda, Portal Demo berkomitmen menjalankan kerja "
    "jurnalistik sesuai Kode Etik Jurnalistik dan Undang-Undang Nomor 40 Tahun 1999 tentang Pers. "
    "Setiap berita melalui proses verifikasi sebelum diterbitkan.",
    "Kami percaya bahwa informasi yang baik adalah hak setiap warga. Karena itu seluruh konten "
    "kami dapat diakses secara gratis, dan kami terbuka terhadap kritik serta masukan dari "
    "pembaca untuk terus memperbaiki kualitas pemberitaan.",
)

_CONTACT = (
    "Redaksi Portal Demo beralamat di Jalan Sultan Thaha Nomor 17, Kelurahan Pasar, Kecamatan "
    "Pasar Jambi, Kota Jambi 36111.",
    "Surel redaksi: redaksi@portal-demo.example. Surel iklan dan kerja sama: "
    "iklan@portal-demo.example. Telepon dan WhatsApp: 0741-000000 (Senin sampai Jumat, pukul "
    "09.00 hingga 17.00 WIB).",
    "Untuk hak jawab dan koreksi pemberitaan, silakan kirimkan surel dengan menyertakan tautan "
    "berita yang dimaksud, identitas lengkap, serta penjelasan singkat.",
)

_STAFF = (
    "Pemimpin Umum: Hendra Saputra. Pemimpin Redaksi: Siti Rahmawati. Redaktur Pelaksana: "
    "Fajar Hidayat.",
    "Redaktur: Dewi Anggraini, Rizki Pratama, Wulan Lubis. Reporter: Ahmad Nasution, Intan "
    "Harahap, Budi Wijaya, Lestari Susanti.",
    "Fotografer: Khairul Simanjuntak. Tata Letak dan Desain: Ayu Kusnadi. Bagian Iklan dan "
    "Pemasaran: Rahmat Fahmi.",
    "Seluruh wartawan Portal Demo dibekali kartu identitas dan surat tugas. Wartawan kami tidak "
    "dibenarkan menerima imbalan dalam bentuk apa pun dari narasumber.",
)

_ADVERTISING = (
    "Portal Demo membuka kesempatan bagi instansi pemerintah, perusahaan, dan pelaku usaha untuk "
    "memasang iklan serta menjalin kerja sama publikasi.",
    "Kami menyediakan iklan banner di halaman utama dan halaman artikel, advertorial, rilis pers, "
    "serta liputan khusus acara. Tarif menyesuaikan posisi, ukuran, dan lama tayang iklan.",
    "Setiap advertorial diberi label yang jelas sehingga pembaca dapat membedakannya dari berita. "
    "Redaksi berhak menolak materi iklan yang bertentangan dengan hukum dan norma kesusilaan.",
    "Untuk informasi tarif dan ketersediaan slot, hubungi bagian iklan melalui surel "
    "iklan@portal-demo.example atau telepon 0741-000000 pada jam kerja.",
)

# Over 1,000 characters: the length of a short news story.
_GUIDELINE = (
    "Kemerdekaan berpendapat, kemerdekaan berekspresi, dan kemerdekaan pers adalah hak asasi "
    "manusia yang dilindungi konstitusi. Keberadaan media siber menjadi bagian dari kemerdekaan "
    "tersebut, sehingga pengelolaannya perlu dilakukan secara profesional dan bertanggung jawab. "
    "Pedoman ini menjadi pegangan redaksi Portal Demo dalam menjalankan pemberitaan daring.",
    "Ruang lingkup. Media siber adalah segala bentuk media yang menggunakan wahana internet dan "
    "melaksanakan kegiatan jurnalistik. Isi buatan pengguna adalah segala isi yang dibuat atau "
    "dipublikasikan oleh pengguna, antara lain komentar di bawah artikel dan kiriman pembaca.",
    "Verifikasi dan keberimbangan berita. Pada prinsipnya setiap berita harus melalui "
    "verifikasi. Berita yang dapat merugikan pihak lain memerlukan verifikasi pada berita yang "
    "sama untuk memenuhi prinsip akurasi dan keberimbangan. Bila verifikasi belum dapat "
    "dilakukan, berita wajib memuat penjelasan bahwa verifikasi masih diupayakan, dan verifikasi "
    "dilanjutkan pada berita pemutakhiran dengan tautan ke berita sebelumnya.",
    "Isi buatan pengguna. Redaksi mencantumkan syarat dan ketentuan yang melarang isi bohong, "
    "fitnah, sadis, cabul, bermuatan kebencian terkait suku, agama, ras, dan antargolongan, serta "
    "isi yang menganjurkan kekerasan. Isi yang melanggar ketentuan tersebut akan disunting atau "
    "dihapus secepatnya setelah diketahui atau dilaporkan.",
    "Ralat, koreksi, dan hak jawab. Ralat, koreksi, dan hak jawab ditautkan pada berita yang "
    "diralat, dikoreksi, atau diberi hak jawab, dan mencantumkan waktu pemuatannya. Berita yang "
    "sudah dipublikasikan tidak dapat dicabut kecuali karena alasan yang diatur dalam pedoman "
    "ini, dan pencabutan wajib disertai alasan yang diumumkan kepada publik.",
    "Iklan. Redaksi wajib membedakan secara tegas antara produk berita dan iklan. Setiap berita "
    "atau artikel yang merupakan iklan atau isi berbayar wajib mencantumkan keterangan "
    "advertorial, iklan, atau sponsor.",
)

# Also over 1,000 characters, at an article-shaped slug.
_PRIVACY = (
    "Kebijakan privasi ini menjelaskan bagaimana Portal Demo mengumpulkan, menggunakan, dan "
    "melindungi data pribadi pengunjung situs. Dengan mengakses situs ini, Anda dianggap telah "
    "membaca dan menyetujui kebijakan ini.",
    "Data yang kami kumpulkan meliputi alamat IP, jenis peramban, halaman yang dikunjungi, dan "
    "waktu kunjungan. Data tersebut dikumpulkan secara otomatis melalui log server dan kuki "
    "untuk keperluan analisis lalu lintas serta peningkatan layanan. Bila Anda mengirimkan "
    "komentar atau berlangganan buletin, kami juga menyimpan nama dan alamat surel yang Anda "
    "berikan.",
    "Kami tidak menjual, menyewakan, atau memberikan data pribadi Anda kepada pihak lain, "
    "kecuali diwajibkan oleh peraturan perundang-undangan. Mitra periklanan kami dapat "
    "menggunakan kuki untuk menampilkan iklan yang relevan; Anda dapat menonaktifkan kuki "
    "melalui pengaturan peramban.",
    "Data pribadi disimpan selama diperlukan untuk tujuan pengumpulannya dan dilindungi dengan "
    "langkah keamanan yang wajar. Sesuai Undang-Undang Pelindungan Data Pribadi, Anda berhak "
    "meminta akses, perbaikan, atau penghapusan data pribadi Anda dengan menghubungi "
    "redaksi@portal-demo.example.",
    "Kebijakan ini dapat diperbarui sewaktu-waktu. Perubahan berlaku sejak diumumkan di halaman "
    "ini, dan kami menyarankan pembaca meninjaunya secara berkala.",
)

INFO_PAGES: tuple[InfoPage, ...] = (
    InfoPage("/tentang-kami/", "Tentang Kami", "Tentang Kami", _ABOUT, in_nav=True),
    InfoPage("/kontak/", "Kontak", "Kontak", _CONTACT, in_nav=True),
    InfoPage("/redaksi/", "Susunan Redaksi", "Redaksi", _STAFF),
    InfoPage(
        "/informasi-pemasangan-iklan-dan-kerja-sama/",
        "Pasang Iklan",
        "Pasang Iklan",
        _ADVERTISING,
        in_nav=True,
    ),
    InfoPage(
        "/pedoman-media-siber/",
        "Pedoman Pemberitaan Media Siber",
        "Pedoman Media Siber",
        _GUIDELINE,
    ),
    InfoPage(
        "/kebijakan-privasi-dan-perlindungan-data-pribadi/",
        "Kebijakan Privasi",
        "Kebijakan Privasi",
        _PRIVACY,
    ),
)
# When the pages were last edited (the page sitemap's lastmod): long before any article.
INFO_LASTMOD = "2021-03-01T10:00:00+07:00"
