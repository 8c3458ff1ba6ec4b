//! The water & climate panel: the newest closed window of every province.

use leptos::prelude::*;
use pmoc_schemas::{
    api::{ProvinceLatest, WaterSnapshot},
    calendar::{Lang, format_datetime, format_time},
};

#[component]
pub fn WaterPanel(
    snapshot: RwSignal<Option<WaterSnapshot>>,
    lang: RwSignal<Lang>,
) -> impl IntoView {
    let is_th = move || lang.get() == Lang::Th;
    let newest = move || snapshot.get().and_then(|s| s.newest_closed_window_end_ms);
    let rows = move || snapshot.get().map(|s| s.provinces).unwrap_or_default();
    view! {
        <section class="panel water">
            <h2>{move || if is_th() { "ระดับน้ำ (ม.รทก.)" } else { "Water level (m MSL)" }}</h2>
            <p class="asof">
                {move || if is_th() { "หน้าต่างล่าสุดที่ปิดแล้วสิ้นสุด " } else { "Newest closed window ends " }}
                <time id="newest-window-end" data-ms=move || newest().map(|m| m.to_string()).unwrap_or_default()>
                    {move || newest().map(|m| format_datetime(m, lang.get())).unwrap_or_else(|| "-".to_owned())}
                </time>
                <span class="source">
                    {move || if is_th() { " | แหล่งข้อมูล: " } else { " | Source: " }}
                    {move || snapshot.get().map(|s| s.source).unwrap_or_default()}
                </span>
            </p>
            <table id="water-table">
                <thead>
                    <tr>
                        <th>{move || if is_th() { "จังหวัด" } else { "Province" }}</th>
                        <th>{move || if is_th() { "ล่าสุด" } else { "Last" }}</th>
                        <th>{move || if is_th() { "เฉลี่ย" } else { "Mean" }}</th>
                        <th>{move || if is_th() { "ต่ำสุด" } else { "Min" }}</th>
                        <th>{move || if is_th() { "สูงสุด" } else { "Max" }}</th>
                        <th>{move || if is_th() { "จำนวน" } else { "Count" }}</th>
                        <th>{move || if is_th() { "ช่วงเวลา" } else { "Window" }}</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=rows
                        key=|p: &ProvinceLatest| (p.province_code.clone(), p.window_end_ms, p.count, p.last.to_bits())
                        children=move |p: ProvinceLatest| {
                            let name = {
                                let (th, en) = (p.name_th.clone(), p.name_en.clone());
                                move || if is_th() { th.clone() } else { en.clone() }
                            };
                            view! {
                                <tr data-province=p.province_code.clone()>
                                    <td data-field="name">{name}</td>
                                    <td data-field="last">{format!("{:.2}", p.last)}</td>
                                    <td data-field="mean">{format!("{:.2}", p.mean)}</td>
                                    <td data-field="min">{format!("{:.2}", p.min)}</td>
                                    <td data-field="max">{format!("{:.2}", p.max)}</td>
                                    <td data-field="count">{p.count}</td>
                                    <td data-field="window">
                                        {format!("{}–{}", format_time(p.window_start_ms), format_time(p.window_end_ms))}
                                    </td>
                                </tr>
                            }
                        }
                    />
                </tbody>
            </table>
        </section>
    }
}
